using System.Globalization;

namespace FastMcp.Interop.Tests.Harness;

/// <summary>Read-only body stream base: only the async Memory overload does real work.</summary>
internal abstract class ResponseBodyStream : Stream
{
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override int Read(byte[] buffer, int offset, int count) =>
        ReadAsync(buffer.AsMemory(offset, count), CancellationToken.None).AsTask().GetAwaiter().GetResult();

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
}

/// <summary>A body of known length (Content-Length), or up to close when the length is unbounded.</summary>
internal sealed class BoundedBodyStream(RawHttpConnection connection, long length) : ResponseBodyStream
{
    private long _remaining = length;

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_remaining == 0 || buffer.Length == 0)
        {
            return 0;
        }
        var want = (int)Math.Min(buffer.Length, _remaining);
        var read = await connection.ReadRawAsync(buffer[..want], cancellationToken);
        if (read == 0 && _remaining != long.MaxValue)
        {
            throw new IOException($"connection closed with {_remaining} body bytes still expected");
        }
        if (_remaining != long.MaxValue)
        {
            _remaining -= read;
        }
        return read;
    }
}

/// <summary>Decodes Transfer-Encoding: chunked as the bytes arrive (SSE streams rely on that).</summary>
internal sealed class ChunkedBodyStream(RawHttpConnection connection) : ResponseBodyStream
{
    private long _chunkRemaining;
    private bool _finished;

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_finished || buffer.Length == 0)
        {
            return 0;
        }
        if (_chunkRemaining == 0)
        {
            var sizeLine = await connection.ReadLineAsync(cancellationToken)
                ?? throw new IOException("connection closed before the next chunk size");
            var semicolon = sizeLine.IndexOf(';');
            var hex = (semicolon >= 0 ? sizeLine[..semicolon] : sizeLine).Trim();
            _chunkRemaining = long.Parse(hex, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            if (_chunkRemaining == 0)
            {
                // Trailer section: header lines until the empty line.
                while (await connection.ReadLineAsync(cancellationToken) is { Length: > 0 })
                {
                }
                _finished = true;
                return 0;
            }
        }
        var want = (int)Math.Min(buffer.Length, _chunkRemaining);
        var read = await connection.ReadRawAsync(buffer[..want], cancellationToken);
        if (read == 0)
        {
            throw new IOException("connection closed inside a chunk");
        }
        _chunkRemaining -= read;
        if (_chunkRemaining == 0)
        {
            var end = await connection.ReadLineAsync(cancellationToken);
            if (end is not { Length: 0 })
            {
                throw new IOException("chunk not followed by CRLF");
            }
        }
        return read;
    }
}
