using System.Buffers;
using System.Text.Json;
using FastMcp.Gateway.Buffers;
using FastMcp.Gateway.Proxy;
using FastMcp.Gateway.Stages;
using FastMcp.Http;

namespace FastMcp.Gateway.Federation;

/// <summary>
/// On a federated path, the events a member sends the client (on a call's stream or the session's GET stream) may be
/// requests of its own: sampling, elicitation, roots. Each gets an id the gateway gives (<see cref="ServerRequestIds"/>)
/// so the client's answer can be sent back to the member that asked; a member's notifications/cancelled for such a
/// request is rewritten to the same id. Other messages pass unchanged. A message that cannot be read (or a batch, which
/// would hide requests the gateway could not route answers to) is refused: the client gets an error event instead.
/// Runs only when a federated route is configured; it allocates, as the federated path does.
/// </summary>
internal sealed class ServerRequestRelay : IResponseTransform
{
    public bool Apply(Exchange exchange, PooledBufferWriter message, bool isEvent, TransformBuffers buffers)
    {
        if (!isEvent || exchange.FederationSession is not { } session) return true;
        if (!Rewrite(session, exchange.FederationMember, message, buffers)) return false;
        // With several members, event ids are theirs each: the client sees "<member><separator><id>", and resuming
        // with it (GET with Last-Event-ID) goes to that member with its own id.
        if (exchange.Federation is { Members.Length: > 1 } federation && SseDataField.HasId(message.WrittenSpan))
        {
            PooledBufferWriter prefixed = buffers.Output;
            prefixed.Clear();
            SseDataField.PrefixId(message.WrittenSpan, System.Text.Encoding.UTF8.GetBytes(federation.Prefixes[exchange.FederationMember]), prefixed);
            message.Clear();
            message.Write(prefixed.WrittenSpan);
            buffers.Trim();
        }
        return true;
    }

    /// <summary>Rewrites one event of <paramref name="member"/> in place; false when it must not reach the client.</summary>
    public static bool Rewrite(FederationSession session, int member, PooledBufferWriter evt, TransformBuffers buffers)
    {
        int dataLines = SseDataField.Count(evt.WrittenSpan);
        if (dataLines == 0) return true; // comments, retry, id-only events: no message in them
        buffers.Json.Clear();
        SseDataField.Join(evt.WrittenSpan, buffers.Json);
        ReadOnlySpan<byte> json = buffers.Json.WrittenSpan;
        if (json.IndexOfAnyExcept(" \t\r\n"u8) < 0) return true; // a priming event

        if (!TryRead(json, out Range id, out Range cancelledId)) return false;
        buffers.Output.Clear();
        if (!id.Equals(default(Range)))
        {
            buffers.Output.Write(json[..id.Start]);
            session.ServerRequests.Issue(member, json[id], buffers.Output);
            buffers.Output.Write(json[id.End..]);
        }
        else if (!cancelledId.Equals(default(Range)))
        {
            buffers.Output.Write(json[..cancelledId.Start]);
            // A cancellation of a request the client never saw (or already answered) has nothing to name: dropped as is.
            if (!session.ServerRequests.TryFindIssued(member, json[cancelledId], buffers.Output)) return true;
            buffers.Output.Write(json[cancelledId.End..]);
        }
        else
        {
            return true;
        }
        PooledBufferWriter rewritten = buffers.Json;
        rewritten.Clear();
        SseDataField.ReplaceData(evt.WrittenSpan, buffers.Output.WrittenSpan, rewritten);
        evt.Clear();
        evt.Write(rewritten.WrittenSpan);
        buffers.Trim();
        return true;
    }

    /// <summary>
    /// Reads one JSON-RPC message: <paramref name="requestId"/> is the id token of a request (it has a method and an
    /// id); <paramref name="cancelledId"/> the params.requestId token of a notifications/cancelled. False: not a
    /// single JSON object.
    /// </summary>
    private static bool TryRead(ReadOnlySpan<byte> json, out Range requestId, out Range cancelledId)
    {
        (requestId, cancelledId) = (default, default);
        Range id = default, paramsRequestId = default;
        bool hasMethod = false, isCancelled = false;
        try
        {
            var reader = new Utf8JsonReader(json);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("id"u8))
                {
                    reader.Read();
                    int start = (int)reader.TokenStartIndex;
                    if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray) reader.Skip();
                    id = new Range(start, (int)reader.BytesConsumed);
                }
                else if (reader.ValueTextEquals("method"u8))
                {
                    reader.Read();
                    if (reader.TokenType != JsonTokenType.String) return false;
                    hasMethod = true;
                    isCancelled = reader.ValueTextEquals("notifications/cancelled"u8);
                }
                else if (reader.ValueTextEquals("params"u8))
                {
                    reader.Read();
                    if (reader.TokenType != JsonTokenType.StartObject)
                    {
                        reader.Skip();
                        continue;
                    }
                    while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                    {
                        bool isRequestId = reader.ValueTextEquals("requestId"u8);
                        reader.Read();
                        int start = (int)reader.TokenStartIndex;
                        reader.Skip();
                        if (isRequestId && reader.TokenType is JsonTokenType.String or JsonTokenType.Number) paramsRequestId = new Range(start, (int)reader.BytesConsumed);
                    }
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }
            if (reader.TokenType != JsonTokenType.EndObject || reader.Read()) return false;
        }
        catch (JsonException)
        {
            return false;
        }
        if (hasMethod && !id.Equals(default(Range))) requestId = id;
        else if (hasMethod && isCancelled) cancelledId = paramsRequestId;
        return true;
    }
}
