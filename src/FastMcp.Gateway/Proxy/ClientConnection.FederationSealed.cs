using System.Buffers;
using System.Text;
using System.Text.Json;
using FastMcp.Gateway.Federation;
using FastMcp.Gateway.Hosting;
using FastMcp.Gateway.Sessions;
using FastMcp.Identity;
using FastMcp.Mcp;

namespace FastMcp.Gateway.Proxy;

/// <summary>
/// Sealed federated session ids (sessions.sealed on a federated path; Federation/SealedFederatedSessions.cs): the id a
/// client gets at initialize carries its members' sessions, sealed for the caller and the path, so any replica with the
/// same card fingerprint key (and this one after a restart) serves it: a session it does not hold is rebuilt from the id.
/// </summary>
internal sealed partial class ClientConnection
{
    /// <summary>
    /// The session a sealed id names, when it verifies for this caller and path: the one held here, else one rebuilt from
    /// the id and held from now on. Null for anything else (refused as an unknown session, never forwarded).
    /// </summary>
    private FederationSession? SealedFederatedSession(FederatedRoute federation, IdSeal seal, ReadOnlySpan<byte> presented)
    {
        Principal caller = _exchange.Principal!;
        byte[] payload = ArrayPool<byte>.Shared.Rent(presented.Length);
        try
        {
            int n = seal.Open(presented, caller, federation.PathText, payload);
            if (n <= 0)
            {
                Log.Debug($"client {RemoteAddress}: refused a session id of federated path '{federation.PathText}' not sealed for this caller");
                return null;
            }
            string id = Encoding.ASCII.GetString(presented);
            if (federation.Sessions.Find(id, caller.Subject, caller.Issuer, out SessionOwner? other) is { } held) return held;
            // The tag binds the id to this caller: held for anyone else it is no one's to use.
            if (other is not null) return null;
            if (!SealedFederatedSessions.TryRead(payload.AsSpan(0, n), federation, out MemberStates members))
            {
                Log.Debug($"client {RemoteAddress}: refused a sealed session id that does not describe the members of federated path '{federation.PathText}' (changed since it was issued?)");
                return null;
            }
            return federation.Sessions.Rebuild(id, caller.Subject, caller.Issuer, members);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(payload);
        }
    }

    /// <summary>
    /// The initialized session <paramref name="draft"/>, held from now on under its sealed id; null (the draft forgotten,
    /// its members' sessions ended) when the id would not fit the limit of <see cref="SealedFederatedSessions.MaxSealedLength"/>.
    /// </summary>
    private FederationSession? SealFederatedSession(FederatedRoute federation, IdSeal seal, FederationSession draft)
    {
        int max = SealedFederatedSessions.MaxSealedLength(_rt.Limits.MaxHeadBytes);
        if (SealedFederatedSessions.Seal(seal, _exchange.Principal!, federation, draft, max, out int length) is { } id) return federation.Sessions.Reissue(draft, id);
        // The members' session ids make it long, and each client initialize tries again: one line per path and interval.
        if (_rt.LogRateLimit.TryTake("sealed federated id too long", federation.PathText, 0, out int held))
            Log.Warn($"federated {federation.PathText}: initialize refused: the sealed session id would be {(length == int.MaxValue ? "too long to encode" : $"{length} bytes")}, "
                + $"over {max} (a quarter of limits.maxHeadBytes)" + LogRateLimit.Held(held));
        if (federation.Sessions.Remove(draft)) federation.Sessions.EndForgotten?.Invoke(draft);
        return null;
    }

    /// <summary>
    /// The member owning a resource URI (or template) on a session rebuilt from a sealed id, which never saw the lists
    /// that named it: once per session the members are asked for resources/list and resources/templates/list (each a
    /// fan-out decided, masked and recorded as the client's own would be) and the owners remembered. -1 when still none
    /// or several own it (refused by the caller: never guessed). Stopped: the exchange has been answered.
    /// </summary>
    private async ValueTask<(int Member, bool? Stopped)> LearnResourceOwnerAsync(FederatedRoute federation, FederationSession session, ReadOnlySequence<byte> body,
        string uri)
    {
        if (!session.Rebuilt || uri.Length == 0 || Interlocked.Exchange(ref session.ResourceOwnersAsked, 1) != 0) return (-1, null);
        McpCall call = _exchange.Call;
        ReadOnlySequence<byte> exchangeBody = _exchange.Body, recorded = _exchange.Recorded;
        Stages.PanMasking? masking = _exchange.Masking;
        byte[] idJson = IdJson(body);
        var documents = new List<JsonDocument>();
        try
        {
            foreach (McpMethod list in ResourceLists)
            {
                // The gateway's own request, with the client's id: decided for the caller and recorded as theirs.
                var request = new ReadOnlySequence<byte>(FederatedLists.PageRequest(idJson, list, cursor: null));
                if (McpInspector.Inspect(request, out _exchange.Call) != McpInspectError.None) return (-1, null);
                _exchange.Body = request;
                _exchange.Recorded = request;
                var entries = new List<(int Member, JsonElement Entry)>();
                (bool? stopped, _) = await CollectMemberListsAsync(federation, session, request, request, list, entries, documents).ConfigureAwait(false);
                if (stopped is not null) return (-1, stopped);
                FederatedLists.Remember(list, session, entries);
            }
        }
        finally
        {
            foreach (JsonDocument d in documents) d.Dispose();
            _exchange.Call = call;
            _exchange.Body = exchangeBody;
            _exchange.Recorded = recorded;
            _exchange.Masking = masking;
            _exchange.Route = null;
        }
        return (session.OwnerOf(uri), null);
    }

    private static readonly McpMethod[] ResourceLists = [McpMethod.ResourcesList, McpMethod.ResourcesTemplatesList];
}
