using System.Buffers;
using FastMcp.Gateway.Buffers;
using FastMcp.Mcp;

namespace FastMcp.Gateway.Tasks;

/// <summary>
/// The body the upstream gets for a tasks request whose sealed task id was opened (tasks.sealed): the client's body with
/// the upstream's own id, JSON-escaped, in place of the sealed one; Content-Length follows from its length. The client's
/// body stays the exchange's (its id ranges, the audit record). The buffer is pooled and reused by the connection's
/// exchanges: nothing is allocated per request once it has grown.
/// </summary>
internal sealed class SealedTaskBody
{
    private readonly PooledBufferWriter _body = new(256);
    private bool _rewritten;

    /// <summary>What goes to the upstream: the rewritten body when there is one, else <paramref name="clientBody"/>.</summary>
    public ReadOnlySequence<byte> Forwarded(ReadOnlySequence<byte> clientBody) =>
        _rewritten ? new ReadOnlySequence<byte>(_body.WrittenMemory) : clientBody;

    /// <summary>Writes <paramref name="clientBody"/> with the string token at <paramref name="taskIdToken"/> replaced by <paramref name="upstreamId"/>.</summary>
    public void Write(in ReadOnlySequence<byte> clientBody, Range taskIdToken, ReadOnlySpan<byte> upstreamId)
    {
        int start = taskIdToken.Start.Value, end = taskIdToken.End.Value;
        _body.Clear();
        Copy(clientBody.Slice(0, start));
        // At most 6 bytes per escaped byte (\u00XX), plus the quotes.
        Span<byte> token = _body.GetSpan(upstreamId.Length * 6 + 2);
        token[0] = (byte)'"';
        int n = JsonRpcErrorWriter.WriteEscapedString(token[1..], upstreamId);
        token[n + 1] = (byte)'"';
        _body.Advance(n + 2);
        Copy(clientBody.Slice(end));
        _rewritten = true;
    }

    public void Reset() => _rewritten = false;

    /// <summary>Gives the buffer back while the connection is idle.</summary>
    public void Release()
    {
        _rewritten = false;
        _body.Release();
    }

    private void Copy(ReadOnlySequence<byte> part)
    {
        foreach (ReadOnlyMemory<byte> segment in part) _body.Write(segment.Span);
    }
}
