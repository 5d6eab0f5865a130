using System.Buffers;
using FastMcp.Gateway.Proxy;
using FastMcp.Mcp;

namespace FastMcp.Gateway.Tasks;

/// <summary>Whether a response is the answer to the exchange's own request: its id is the request's, compared as peers compare ids.</summary>
internal static class ExchangeAnswer
{
    private const int MaxCopiedId = 256;

    public static bool Is(Exchange exchange, ReadOnlySpan<byte> responseJson, Range responseId)
    {
        Range idRange = exchange.Call.IdRange;
        if (McpCall.IsEmpty(idRange) || McpCall.IsEmpty(responseId)) return false;
        ReadOnlySequence<byte> id = exchange.Body.Slice(idRange.Start.Value, idRange.End.Value - idRange.Start.Value);
        ReadOnlySpan<byte> answerId = responseJson[responseId];
        if (id.IsSingleSegment) return McpBatch.SameId(id.FirstSpan, answerId);
        // An id split across the body's segments (rare): compared from a copy; one too long to copy matches nothing (nothing is bound).
        if (id.Length > MaxCopiedId) return false;
        Span<byte> copy = stackalloc byte[MaxCopiedId];
        id.CopyTo(copy);
        return McpBatch.SameId(copy[..(int)id.Length], answerId);
    }
}
