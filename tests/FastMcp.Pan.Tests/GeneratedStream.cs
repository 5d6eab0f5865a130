using System.Text;

namespace FastMcp.Pan.Tests;

/// <summary>
/// A read-only stream that generates <c>length</c> bytes of MCP-like JSON lines on the fly (nothing stored), with a
/// card number every <c>cardEvery</c> lines, so gigabyte tests need no disk and little memory.
/// </summary>
internal sealed class GeneratedStream(long length, int cardEvery) : Stream
{
    private static readonly byte[] Plain = Encoding.UTF8.GetBytes(
        "{\"jsonrpc\":\"2.0\",\"id\":4711,\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"order 884213 shipped at 1732406400000, weight 12.5 kg \\u00e9\"}]}}\n");
    private static readonly byte[] Card = Encoding.UTF8.GetBytes(
        "{\"jsonrpc\":\"2.0\",\"id\":4712,\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"card 4111 1111 1111 1111 on file\"}]}}\n");

    private long _position;
    private long _line;
    private int _inLine;

    /// <summary>Card numbers generated so far (complete lines only are counted at the end).</summary>
    public long CardsWritten { get; private set; }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> destination)
    {
        int written = 0;
        while (written < destination.Length && _position < length)
        {
            byte[] line = _line % cardEvery == cardEvery - 1 ? Card : Plain;
            int take = (int)Math.Min(Math.Min(line.Length - _inLine, destination.Length - written), length - _position);
            line.AsSpan(_inLine, take).CopyTo(destination.Slice(written));
            written += take;
            _position += take;
            _inLine += take;
            if (_inLine == line.Length)
            {
                if (line == Card) CardsWritten++;
                _line++;
                _inLine = 0;
            }
        }
        return written;
    }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => length;
    public override long Position { get => _position; set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}

/// <summary>Discards what is written but checks that no card number survives, chunk by chunk.</summary>
internal sealed class CheckingSink : Stream
{
    public long BytesWritten { get; private set; }
    public long Leaks { get; private set; }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> source)
    {
        BytesWritten += source.Length;
        // Masked output contains "1111 11** **** 1111"; any unmasked PAN would be "1111 1111 1111 1111".
        if (source.IndexOf("4111 1111 1111 1111"u8) >= 0) Leaks++;
    }

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => BytesWritten;
    public override long Position { get => BytesWritten; set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
