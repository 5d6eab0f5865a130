using System.Buffers;
using FastMcp.Gateway.Buffers;
using FastMcp.Gateway.Proxy;
using FastMcp.Pan;

namespace FastMcp.Gateway.Stages;

internal enum RequestCardMode : byte { Mask, Forward, Block }

/// <summary>
/// Mask: every upstream message (JSON body or SSE event) has its card numbers masked in place
/// before anyone sees it; request bodies are masked, forwarded or blocked as configured.
/// </summary>
internal sealed class PanMasking(PanMasker masker, RequestCardMode requestMode) : IResponseTransform
{
    public RequestCardMode RequestMode => requestMode;
    public PanMasker Masker => masker;

    public bool Apply(Exchange exchange, PooledBufferWriter message, bool isEvent, TransformBuffers buffers)
    {
        masker.MaskInPlace(message.WrittenSpan, ref exchange.ResponseCards);
        return true;
    }

    /// <summary>Masks the request body in place (its memory is the connection's own buffer). Returns cards found.</summary>
    public int MaskRequest(Exchange exchange, in ReadOnlySequence<byte> body) => masker.MaskInPlace(body, ref exchange.RequestCards);

    /// <summary>Counts card numbers in the request without changing it (forward and block modes).</summary>
    public int CountRequest(Exchange exchange, in ReadOnlySequence<byte> body, PooledBufferWriter copy)
    {
        // Scanning a copy keeps the forwarded bytes untouched; the masked copy is what gets recorded.
        copy.Clear();
        foreach (ReadOnlyMemory<byte> m in body) copy.Write(m.Span);
        return masker.MaskInPlace(copy.WrittenSpan, ref exchange.RequestCards);
    }
}
