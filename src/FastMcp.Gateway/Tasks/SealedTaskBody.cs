using System.Buffers;
using FastMcp.Gateway.Buffers;
using FastMcp.Mcp;

namespace FastMcp.Gateway.Tasks;

/// <summary>
/// The body the upstream gets for a client message whose sealed task ids were opened (tasks.sealed): the client's body
/// with the upstream's own id, JSON-escaped, in place of each sealed one; Content-Length follows from its length. The
/// client's body stays the exchange's (its id ranges, the audit record). The buffers are pooled and reused by the
/// connection's exchanges: nothing is allocated per request once they have grown.
/// </summary>
internal sealed class SealedTaskBody
{
    private readonly PooledBufferWriter _body = new(256);
    // A body split over several segments, copied whole so that its task ids can be found in one span (larger bodies only).
    private readonly PooledBufferWriter _contiguous = new(0);
    private bool _rewritten;

    /// <summary>What goes to the upstream: the rewritten body when there is one, else <paramref name="clientBody"/>.</summary>
    public ReadOnlySequence<byte> Forwarded(ReadOnlySequence<byte> clientBody) =>
        _rewritten ? new ReadOnlySequence<byte>(_body.WrittenMemory) : clientBody;

    /// <summary><paramref name="clientBody"/> as one span (copied when it is split over segments), offsets unchanged.</summary>
    public ReadOnlySpan<byte> Contiguous(in ReadOnlySequence<byte> clientBody)
    {
        if (clientBody.IsSingleSegment) return clientBody.FirstSpan;
        _contiguous.Clear();
        foreach (ReadOnlyMemory<byte> segment in clientBody) _contiguous.Write(segment.Span);
        return _contiguous.WrittenSpan;
    }

    /// <summary>Starts a rewrite: <see cref="Copy"/> and <see cref="WriteId"/> in body order, then <see cref="End"/>.</summary>
    public void Begin()
    {
        _rewritten = false;
        _body.Clear();
    }

    /// <summary>Bytes of the client's body kept as they are.</summary>
    public void Copy(ReadOnlySpan<byte> part) => _body.Write(part);

    /// <summary>The upstream's own task id as a JSON string, where the client's sealed id token was.</summary>
    public void WriteId(ReadOnlySpan<byte> upstreamId)
    {
        // At most 6 bytes per escaped byte (\u00XX), plus the quotes.
        Span<byte> token = _body.GetSpan(upstreamId.Length * 6 + 2);
        token[0] = (byte)'"';
        int n = JsonRpcErrorWriter.WriteEscapedString(token[1..], upstreamId);
        token[n + 1] = (byte)'"';
        _body.Advance(n + 2);
    }

    /// <summary>The rewrite is complete: it is what goes to the upstream.</summary>
    public void End() => _rewritten = true;

    public void Reset() => _rewritten = false;

    /// <summary>Gives the buffers back while the connection is idle.</summary>
    public void Release()
    {
        _rewritten = false;
        _body.Release();
        _contiguous.Release();
    }
}
