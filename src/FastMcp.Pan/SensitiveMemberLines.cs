using System.Buffers;
using FastMcp.Pan.Payloads;

namespace FastMcp.Pan;

/// <summary>
/// The last stage of <c>fastmcp mask</c>: what the stream masker released is passed on line by line, and a line that is
/// a JSON text (JSON Lines logs, one message per line) has the values of its security code and PIN members masked whole
/// before it is written. It fails closed: a line it cannot fully mask (longer than <see cref="MaxLineLength"/>, which it
/// does not hold, so memory stays bounded; or JSON nested deeper than the walk reads, with a name below that could be a
/// sensitive one) is not written: a marker line naming its number takes its place, and <see cref="WithheldLines"/> counts
/// it. Nothing is held when the masker has no sensitive member names.
/// </summary>
public sealed class SensitiveMemberLines : IDisposable
{
    /// <summary>Longest line read as JSON.</summary>
    public const int MaxLineLength = 4 * 1024 * 1024;

    private readonly PanMasker _masker;
    private readonly Stream _output;
    private byte[] _line;
    private int _length;
    /// <summary>The current line outgrew the bound: its bytes are dropped until its end, where its marker is written.</summary>
    private bool _overlong;
    /// <summary>The current line ended with "\r\n": its marker does too.</summary>
    private bool _overlongCrLf;
    private readonly TextWriter? _notices;
    private bool _overlongNewline;
    private byte _lastDroppedByte;

    /// <param name="notices">Where each withheld line is named (fastmcp mask: stderr); null: only counted.</param>
    public SensitiveMemberLines(PanMasker masker, Stream output, TextWriter? notices = null)
    {
        ArgumentNullException.ThrowIfNull(masker);
        ArgumentNullException.ThrowIfNull(output);
        _masker = masker;
        _output = output;
        _notices = notices;
        _line = masker.SensitiveMembers.IsEmpty ? [] : ArrayPool<byte>.Shared.Rent(64 * 1024);
    }

    /// <summary>The number of the line being read (1 for the first).</summary>
    public long LineNumber { get; private set; } = 1;

    /// <summary>Lines not written because they could not be fully masked (a marker line stands in each one's place).</summary>
    public long WithheldLines { get; private set; }

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
        if (_overlong)
        {
            Withhold($"longer than {MaxLineLength / (1024 * 1024)} MiB, the most this tool reads as JSON to mask security codes and PINs",
                _overlongCrLf ? "\r\n"u8 : _overlongNewline ? "\n"u8 : default);
        }
        else if (_length > 0)
        {
            Span<byte> line = _line.AsSpan(0, _length);
            if (Base64Payloads.MaskSensitiveMembersInPlace(_masker, line, ref sink) == Base64Payloads.Result.Refused)
            {
                ReadOnlySpan<byte> end = line.EndsWith("\r\n"u8) ? "\r\n"u8 : line.EndsWith("\n"u8) ? "\n"u8 : default;
                Withhold("JSON nested deeper than this tool reads (1,024 levels): a security code or PIN below could not be masked", end);
            }
            else
            {
                _output.Write(line);
            }
        }
        if (_overlong || _length > 0) LineNumber++;
        _length = 0;
        _overlong = _overlongCrLf = _overlongNewline = false;
    }

    /// <summary>Writes the marker that stands in place of the current line (its terminator kept, so line numbers still line up).</summary>
    private void Withhold(string why, ReadOnlySpan<byte> terminator)
    {
        WithheldLines++;
        string marker = string.Create(System.Globalization.CultureInfo.InvariantCulture, $"fastmcp mask: line {LineNumber} withheld: {why}");
        _output.Write(System.Text.Encoding.ASCII.GetBytes(marker));
        _output.Write(terminator);
        _notices?.WriteLine(marker);
    }

    private void Append(ReadOnlySpan<byte> part)
    {
        if (_overlong)
        {
            // Dropped: only its end is kept, for the marker's terminator.
            if (part.EndsWith("\n"u8))
            {
                _overlongNewline = true;
                _overlongCrLf = part.EndsWith("\r\n"u8) || part.Length == 1 && _lastDroppedByte == (byte)'\r';
            }
            _lastDroppedByte = part[^1];
            return;
        }
        if (_length + part.Length > MaxLineLength)
        {
            _length = 0;
            _overlong = true;
            _lastDroppedByte = 0;
            Append(part);
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
