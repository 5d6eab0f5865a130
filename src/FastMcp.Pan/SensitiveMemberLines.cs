using System.Buffers;
using FastMcp.Pan.Payloads;

namespace FastMcp.Pan;

/// <summary>
/// The last stage of <c>fastmcp mask</c>: what the stream masker released is passed on line by line, and a line that is
/// a JSON text (JSON Lines logs, one message per line) has the values of its security code and PIN members masked whole
/// before it is written. A line longer than <see cref="MaxLineLength"/> is written as it comes, without that: memory stays
/// bounded, and docs/pan-detection.md says so. Nothing is held when the masker has no sensitive member names.
/// </summary>
public sealed class SensitiveMemberLines : IDisposable
{
    /// <summary>Longest line read as JSON.</summary>
    public const int MaxLineLength = 4 * 1024 * 1024;

    private readonly PanMasker _masker;
    private readonly Stream _output;
    private byte[] _line;
    private int _length;
    /// <summary>The current line outgrew the bound: its bytes go straight out until its end.</summary>
    private bool _overlong;

    public SensitiveMemberLines(PanMasker masker, Stream output)
    {
        ArgumentNullException.ThrowIfNull(masker);
        ArgumentNullException.ThrowIfNull(output);
        _masker = masker;
        _output = output;
        _line = masker.SensitiveMembers.IsEmpty ? [] : ArrayPool<byte>.Shared.Rent(64 * 1024);
    }

    /// <summary>Takes final bytes; writes every line they complete.</summary>
    public void Write<TSink>(ReadOnlySpan<byte> bytes, ref TSink sink) where TSink : IPanFindingSink
    {
        if (_masker.SensitiveMembers.IsEmpty)
        {
            _output.Write(bytes);
            return;
        }
        while (!bytes.IsEmpty)
        {
            int newline = bytes.IndexOf((byte)'\n');
            ReadOnlySpan<byte> part = newline < 0 ? bytes : bytes[..(newline + 1)];
            Append(part);
            if (newline >= 0) Flush(ref sink);
            bytes = bytes[part.Length..];
        }
    }

    /// <summary>Writes the line taken so far (the input's last, which may have no newline).</summary>
    public void Flush<TSink>(ref TSink sink) where TSink : IPanFindingSink
    {
        if (!_overlong && _length > 0)
        {
            Span<byte> line = _line.AsSpan(0, _length);
            Base64Payloads.MaskSensitiveMembersInPlace(_masker, line, ref sink);
            _output.Write(line);
        }
        _length = 0;
        _overlong = false;
    }

    private void Append(ReadOnlySpan<byte> part)
    {
        if (_overlong)
        {
            _output.Write(part);
            return;
        }
        if (_length + part.Length > MaxLineLength)
        {
            _output.Write(_line, 0, _length);
            _output.Write(part);
            _length = 0;
            _overlong = true;
            return;
        }
        if (_length + part.Length > _line.Length)
        {
            byte[] larger = ArrayPool<byte>.Shared.Rent(Math.Max(_line.Length * 2, _length + part.Length));
            _line.AsSpan(0, _length).CopyTo(larger);
            ArrayPool<byte>.Shared.Return(_line);
            _line = larger;
        }
        part.CopyTo(_line.AsSpan(_length));
        _length += part.Length;
    }

    public void Dispose()
    {
        if (_line.Length > 0) ArrayPool<byte>.Shared.Return(_line);
        _line = [];
    }
}
