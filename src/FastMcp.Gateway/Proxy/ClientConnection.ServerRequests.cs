using System.Buffers;
using System.Text;
using FastMcp.Gateway.Buffers;
using FastMcp.Gateway.Forwarding;
using FastMcp.Gateway.Hosting;
using FastMcp.Gateway.Stages;
using FastMcp.Gateway.Upstream;
using FastMcp.Http;
using FastMcp.Mcp;
using FastMcp.Policy;

namespace FastMcp.Gateway.Proxy;

/// <summary>
/// policy.serverRequests on this connection's streams (docs/policy.md "Requests from servers"): a denied server request
/// is recorded, remembered (the client's answer to its id is refused) and answered to the upstream by the gateway, in the
/// upstream session the stream belongs to, so the upstream's call goes on instead of waiting for an answer that never comes.
/// </summary>
internal sealed partial class ClientConnection : IServerRequestGate
{
    public ServerRequestPolicy ServerRequests => _rt.Authorization?.Engine.ServerRequests ?? ServerRequestPolicy.AllowAll;

    bool IServerRequestGate.RecordDenied(Exchange exchange, ReadOnlyMemory<byte> message, in McpResponseView view, in PolicyDecision decision)
    {
        Admin.GatewayCounters.Add(ref _rt.Counters.PolicyDenied);
        if (exchange.Route is { } route && !McpCall.IsEmpty(view.IdRange))
        {
            ReadOnlySpan<byte> id = message.Span[view.IdRange];
            _rt.DeniedServerRequests.Remember(route.Name, UpstreamSessionOf(exchange), id);
            // On a federated path the id the client would have seen is the gateway's: forgotten now, an answer naming it
            // is refused as unknown and never routed to the member.
            exchange.FederationSession?.ServerRequests.TryTake(id, out _, out _);
        }
        if (_rt.Audit is not { } audit) return true;
        exchange.Stage = ExchangeStage.RecordResponse;
        try
        {
            audit.RecordServerRequestDenied(exchange, _auditScratch, RemoteAddress, message, view, decision.Rule?.Name,
                "the gateway answers the upstream with JSON-RPC error -32001");
            return true;
        }
        catch (FastMcp.Audit.AuditUnavailableException)
        {
            RecordLost("audit log unavailable on an event stream: a denied server request has no record; the stream was ended");
            return false;
        }
    }

    bool IServerRequestGate.RecordInputRequestDenied(Exchange exchange, ReadOnlyMemory<byte> answer, string? method, in PolicyDecision decision)
    {
        Admin.GatewayCounters.Add(ref _rt.Counters.PolicyDenied);
        if (_rt.Audit is not { } audit) return true;
        exchange.Stage = ExchangeStage.RecordResponse;
        try
        {
            audit.RecordInputRequestDenied(exchange, _auditScratch, RemoteAddress, answer, method, decision.Rule?.Name);
            return true;
        }
        catch (FastMcp.Audit.AuditUnavailableException)
        {
            RecordLost("audit log unavailable: an input_required answer the policy refused has no record; the client got the gateway's error");
            return false;
        }
    }

    async ValueTask IServerRequestGate.AnswerDeniedAsync(Exchange exchange, ReadOnlyMemory<byte> rawId, PolicyDecision decision)
    {
        if (exchange.Route is not { } route)
        {
            if (_rt.LogRateLimit.TryTake("denied server request answer", "", 0, out int unrouted))
                Log.Warn("a denied server request could not be answered: the stream has no upstream route" + LogRateLimit.Held(unrouted));
            return;
        }
        using var json = new PooledBufferWriter(256);
        JsonRpcErrorWriter.Write(json, rawId.Span, JsonRpcErrorCodes.Forbidden, Encoding.UTF8.GetBytes(ServerRequestPolicy.DenialMessage(decision)));
        using var session = new PooledBufferWriter(128);
        WriteUpstreamSessionLines(exchange, session);
        // Its own deadline: the stream's exchange keeps the one it has.
        using var deadline = new CancellationTokenSource(route.Options.ResponseTimeoutMs);
        (ForwardingError error, int status) = await GatewayAnswerSender.PostAsync(route.Forwarder, _rt.Limits, json.WrittenMemory, session.WrittenMemory, route.Credential,
            exchange.Request.Headers.GetMemory(FastMcp.Http.KnownHeader.Authorization), exchange.Trace, _transport.Loop, deadline.Token).ConfigureAwait(false);
        if ((error != ForwardingError.None || status is < 200 or >= 300)
            && _rt.LogRateLimit.TryTake("denied server request answer", route.Name, error != ForwardingError.None ? (int)error : -status, out int held))
            Log.Warn($"the gateway's answer to a denied server request was not taken by upstream '{route.Name}': {(error != ForwardingError.None ? error.ToString() : $"HTTP {status}")}" + LogRateLimit.Held(held));
    }

    /// <summary>
    /// The upstream session the stream belongs to: on a federated path the member's own (held by the gateway), else the one
    /// the client named (on a plain path the client holds the upstream's session id itself).
    /// </summary>
    private void WriteUpstreamSessionLines(Exchange exchange, PooledBufferWriter lines)
    {
        if (_memberSessionLine is not null)
        {
            lines.Write(_memberSessionLine);
            return;
        }
        ReadOnlySpan<byte> session = UpstreamSessionOf(exchange);
        if (!session.IsEmpty)
        {
            lines.Write("Mcp-Session-Id: "u8);
            lines.Write(session);
            lines.Write("\r\n"u8);
        }
        ReadOnlySpan<byte> version = exchange.Request.Headers.Get(KnownHeader.McpProtocolVersion);
        if (!version.IsEmpty)
        {
            lines.Write("MCP-Protocol-Version: "u8);
            lines.Write(version);
            lines.Write("\r\n"u8);
        }
    }

    private ReadOnlySpan<byte> UpstreamSessionOf(Exchange exchange)
    {
        if (_memberSessionLine is not null) return MemberSessionId(_memberSessionLine);
        return exchange.UpstreamSessionId;
    }

    private static ReadOnlySpan<byte> MemberSessionId(ReadOnlySpan<byte> lines)
    {
        ReadOnlySpan<byte> prefix = "Mcp-Session-Id: "u8;
        if (!lines.StartsWith(prefix)) return default;
        lines = lines[prefix.Length..];
        int end = lines.IndexOf("\r\n"u8);
        return end < 0 ? lines : lines[..end];
    }

    /// <summary>
    /// A client's answer (a response or error) to a server request the policy denied: the client never saw it, and the
    /// gateway answered it already, so it must not reach the upstream. True: it names one (refuse it).
    /// </summary>
    private bool AnswersDeniedServerRequest(ReadOnlySequence<byte> body) =>
        _exchange.HasCall && AnswersDeniedServerRequest(body, _exchange.Call.IdRange);

    /// <summary>The same for one message (a batch member) whose id token is at <paramref name="idRange"/> of <paramref name="message"/>.</summary>
    private bool AnswersDeniedServerRequest(ReadOnlySequence<byte> message, Range idRange)
    {
        if (_rt.DeniedServerRequests.IsEmpty || _exchange.Route is not { } route || McpCall.IsEmpty(idRange)) return false;
        byte[] id = message.Slice(idRange.Start.Value, idRange.End.Value - idRange.Start.Value).ToArray();
        return _rt.DeniedServerRequests.IsDenied(route.Name, UpstreamSessionOf(_exchange), id);
    }
}
