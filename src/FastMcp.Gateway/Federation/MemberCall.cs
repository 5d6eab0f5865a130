using System.Buffers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using FastMcp.Gateway.Buffers;
using FastMcp.Gateway.Forwarding;
using FastMcp.Gateway.Upstream;
using FastMcp.Http;

namespace FastMcp.Gateway.Federation;

/// <summary>What one member answered to a message the gateway sent it on a federated path.</summary>
internal readonly record struct MemberAnswer(ForwardingError Error, int Status, string? SessionId, byte[] Message)
{
    public bool Ok => Error == ForwardingError.None && Status is >= 200 and < 300;
}

/// <summary>
/// Sends one JSON-RPC message of the gateway's own (initialize, a list, a notification, DELETE) to one member of a
/// federated route and reads its whole answer, JSON or an event stream (the stream is read until the member ends it,
/// within responseTimeoutMs; its response event is the answer). Federated path only: this allocates.
/// </summary>
internal static class MemberCall
{
    public static async Task<MemberAnswer> SendAsync(UpstreamRoute member, HttpLimits limits, string method, byte[]? json, string? sessionId, string? protocolVersion,
        ReadOnlyMemory<byte> clientAddress, ReadOnlyMemory<byte> publicScheme, ReadOnlyMemory<byte> callerAuthorization, CancellationToken cancel)
    {
        // A credential without a line (an oauth source with no unexpired token, a token exchange that failed for this caller,
        // or one with no caller: callerAuthorization empty): this member is not called without it (fail closed).
        byte[] credentialLine = [];
        if (member.Credential is { } credential)
        {
            Identity.UpstreamCredentialLine acquired = await credential.AcquireAsync(callerAuthorization, cancel).ConfigureAwait(false);
            if (!acquired.Ok) return new MemberAnswer(Forwarder.CredentialError(acquired.Failure), 0, null, []);
            credentialLine = acquired.Line;
        }
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        timeout.CancelAfter(member.Options.ResponseTimeoutMs);
        (UpstreamConnection? rented, ForwardingError rentError) = await RentAsync(member, timeout.Token).ConfigureAwait(false);
        if (rented is not { } connection) return new MemberAnswer(rentError, 0, null, []);
        bool reusable = false;
        try
        {
            WriteHead(connection.Output, member, method, json?.Length ?? -1, sessionId, protocolVersion, clientAddress.Span, publicScheme.Span, credentialLine);
            if (json is not null) connection.Output.Write(json);
            try
            {
                if ((await connection.Output.FlushAsync(timeout.Token).ConfigureAwait(false)).IsCompleted) return new MemberAnswer(ForwardingError.UpstreamClosed, 0, null, []);
            }
            catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or InvalidOperationException)
            {
                return new MemberAnswer(ForwardingError.UpstreamClosed, 0, null, []);
            }
            (ForwardingError error, _) = await member.Forwarder.ReadHeadAsync(connection, requestWasHead: false, timeout.Token).ConfigureAwait(false);
            if (error != ForwardingError.None) return new MemberAnswer(error, 0, null, []);
            member.Health.ReportReachable();
            HttpResponseHead head = connection.ResponseHead;
            if (head.StatusCode == 401) member.Credential?.ReportRejected(credentialLine, callerAuthorization.Span);
            ReadOnlySpan<byte> sessionHeader = head.Headers.Get(KnownHeader.McpSessionId);
            string? session = sessionHeader.IsEmpty ? null : Encoding.ASCII.GetString(sessionHeader);
            using var body = new PooledBufferWriter(4 * 1024);
            // Compressed bodies are never read (the stages could not inspect them), as on the plain path.
            if (!ContentCoding.IsIdentity(head.Headers)) return new MemberAnswer(ForwardingError.EncodedResponse, head.StatusCode, session, []);
            // Nor are bodies in another charset: they would be recorded, and a refused setLevel relayed, as bytes no stage read.
            if (!ContentCharset.IsUtf8OrUnstated(head.Headers)) return new MemberAnswer(ForwardingError.UnreadableEncoding, head.StatusCode, session, []);
            BodyReadResult read = await BodyReader.ReadWholeAsync(connection, body, limits, timeout.Token).ConfigureAwait(false);
            if (read != BodyReadResult.Complete)
            {
                return new MemberAnswer(read switch
                {
                    BodyReadResult.TooLarge => ForwardingError.ResponseTooLarge,
                    BodyReadResult.TimedOut => ForwardingError.ResponseTimeout,
                    _ => ForwardingError.UpstreamClosed,
                }, head.StatusCode, session, []);
            }
            reusable = head.Framing != BodyFraming.UntilClose && !head.ConnectionClose;
            // Not UTF-8 text (UTF-16: a NUL between a card number's digits), or HTML and the like: as if it had not answered.
            ForwardingError unreadable = UnreadableAnswer.Of(head, body.WrittenSpan);
            if (unreadable != ForwardingError.None) return new MemberAnswer(unreadable, head.StatusCode, session, []);
            byte[] message = head.IsEventStream ? ResponseEvent(body.WrittenSpan) : body.WrittenSpan.ToArray();
            return new MemberAnswer(ForwardingError.None, head.StatusCode, session, message);
        }
        finally
        {
            if (reusable) member.Pool.Return(connection);
            else connection.Dispose();
        }
    }

    /// <summary>A connection to <paramref name="member"/>, or why there is none (a failed connect marks the member down).</summary>
    internal static async Task<(UpstreamConnection? Connection, ForwardingError Error)> RentAsync(UpstreamRoute member, CancellationToken timeout)
    {
        try
        {
            return (await member.Pool.RentAsync(-1, timeout).ConfigureAwait(false), ForwardingError.None);
        }
        catch (OperationCanceledException)
        {
            return (null, ForwardingError.ResponseTimeout);
        }
        catch (Exception e) when (e is SocketException or IOException)
        {
            member.Health.ReportUnreachable("connect failed while forwarding");
            return (null, ForwardingError.UpstreamUnreachable);
        }
    }

    /// <summary>The data of the event that is a JSON-RPC response (result or error); empty when the stream held none.</summary>
    internal static byte[] ResponseEvent(ReadOnlySpan<byte> stream)
    {
        var splitter = new SseEventSplitter();
        using var data = new PooledBufferWriter(1024);
        while (!stream.IsEmpty)
        {
            int length = splitter.TryFindEventEnd(stream, isFinalBlock: true);
            if (length <= 0) break;
            ReadOnlySpan<byte> evt = stream[..length];
            stream = stream[length..];
            splitter.Reset();
            data.Clear();
            SseDataField.Join(evt, data);
            if (data.WrittenCount > 0 && IsResponse(data.WrittenSpan)) return data.WrittenSpan.ToArray();
        }
        return [];
    }

    private static bool IsResponse(ReadOnlySpan<byte> json)
    {
        try
        {
            var reader = new Utf8JsonReader(json);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("result"u8) || reader.ValueTextEquals("error"u8)) return true;
                reader.Read();
                reader.Skip();
            }
        }
        catch (JsonException)
        {
        }
        return false;
    }

    internal static void WriteHead(IBufferWriter<byte> output, UpstreamRoute member, string method, long contentLength, string? sessionId, string? protocolVersion,
        ReadOnlySpan<byte> clientAddress, ReadOnlySpan<byte> publicScheme, ReadOnlySpan<byte> credentialLine, ReadOnlySpan<byte> lastEventId = default)
    {
        output.Write(Encoding.ASCII.GetBytes(method));
        output.Write(" "u8);
        output.Write(member.Url.PathBytes);
        output.Write(" HTTP/1.1\r\nHost: "u8);
        output.Write(member.Url.HostHeaderValue);
        output.Write("\r\nAccept: application/json, text/event-stream\r\nAccept-Encoding: identity\r\n"u8);
        // Empty: a message of the gateway's own, on no client's behalf (ending a session it forgot).
        if (!clientAddress.IsEmpty)
        {
            output.Write("X-Forwarded-For: "u8);
            output.Write(clientAddress);
            output.Write("\r\n"u8);
        }
        output.Write("X-Forwarded-Proto: "u8);
        output.Write(publicScheme);
        output.Write("\r\n"u8);
        output.Write(member.Pool.UpstreamHeaderLines);
        if (contentLength >= 0)
        {
            output.Write("Content-Type: application/json\r\nContent-Length: "u8);
            output.Write(Encoding.ASCII.GetBytes(contentLength.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            output.Write("\r\n"u8);
        }
        if (sessionId is not null)
        {
            output.Write("Mcp-Session-Id: "u8);
            output.Write(Encoding.ASCII.GetBytes(sessionId));
            output.Write("\r\n"u8);
        }
        if (protocolVersion is not null)
        {
            output.Write("MCP-Protocol-Version: "u8);
            output.Write(Encoding.ASCII.GetBytes(protocolVersion));
            output.Write("\r\n"u8);
        }
        if (!lastEventId.IsEmpty)
        {
            output.Write("Last-Event-ID: "u8);
            output.Write(lastEventId);
            output.Write("\r\n"u8);
        }
        output.Write(credentialLine);
        output.Write("\r\n"u8);
    }
}
