using System.Buffers;
using FastMcp.Gateway.Proxy;
using FastMcp.Mcp;

namespace FastMcp.Gateway.Stages;

/// <summary>
/// Whether a response's JSON-RPC id is, byte for byte, one the client itself sent in this exchange: the single
/// request's id, or a batch request member's. Only such an id may be left unmasked for the client to match its
/// answer; any other id (one the upstream chose for its own request, or an answer naming an id the client never
/// sent) is upstream data and is masked like the rest of the message. Compared as bytes, not as numbers: the client
/// gets back nothing it did not send. Allocates nothing.
/// </summary>
internal static class EchoedClientId
{
    public static bool Is(Exchange exchange, ReadOnlySpan<byte> responseId)
    {
        if (!exchange.HasCall || responseId.IsEmpty) return false;
        if (exchange.Call.Kind == McpMessageKind.Batch) return exchange.Batch is { } batch && batch.HasRequestIdBytes(responseId);
        if (exchange.Call.Kind != McpMessageKind.Request) return false;
        Range idRange = exchange.Call.IdRange;
        if (McpCall.IsEmpty(idRange)) return false;
        (int offset, int length) = idRange.GetOffsetAndLength(int.MaxValue);
        if (length != responseId.Length) return false;
        ReadOnlySequence<byte> id = exchange.Body.Slice(offset, length);
        foreach (ReadOnlyMemory<byte> segment in id)
        {
            if (!segment.Span.SequenceEqual(responseId[..segment.Length])) return false;
            responseId = responseId[segment.Length..];
        }
        return true;
    }
}
