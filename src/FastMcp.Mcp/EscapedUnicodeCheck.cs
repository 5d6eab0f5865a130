using System.Text.Json;

namespace FastMcp.Mcp;

/// <summary>
/// Utf8JsonReader accepts any four hex digits after \u, so "\ud800" (half a surrogate pair) passes a read and
/// only fails when the string is decoded. Peers disagree on such strings (JavaScript keeps the lone half, .NET
/// refuses to decode it), so the gateway refuses them at read time: every string it accepts decodes to valid
/// Unicode. Runs only on tokens the reader flags as escaped; no buffer, one pass, works across segments.
/// </summary>
internal struct EscapedUnicodeCheck
{
    private int _state;       // 0 plain, 1 after '\', 2..5 reading hex digit 1..4
    private int _codeUnit;
    private bool _wantLow;    // a high surrogate was seen: the very next thing must be a \u low surrogate

    internal static bool IsValid(ref Utf8JsonReader reader)
    {
        var check = new EscapedUnicodeCheck();
        if (!reader.HasValueSequence)
        {
            return check.Feed(reader.ValueSpan) && check.Complete;
        }
        foreach (ReadOnlyMemory<byte> segment in reader.ValueSequence)
        {
            if (!check.Feed(segment.Span))
            {
                return false;
            }
        }
        return check.Complete;
    }

    private readonly bool Complete => _state == 0 && !_wantLow;

    private bool Feed(ReadOnlySpan<byte> raw)
    {
        int i = 0;
        while (i < raw.Length)
        {
            if (_state == 0)
            {
                if (_wantLow)
                {
                    if (raw[i] != (byte)'\\')
                    {
                        return false;
                    }
                }
                else
                {
                    // Jump to the next escape: plain text needs no checking.
                    int next = raw[i..].IndexOf((byte)'\\');
                    if (next < 0)
                    {
                        return true;
                    }
                    i += next;
                }
                _state = 1;
                i++;
                continue;
            }
            byte b = raw[i++];
            if (_state == 1)
            {
                if (b == (byte)'u')
                {
                    _state = 2;
                    _codeUnit = 0;
                    continue;
                }
                if (_wantLow)
                {
                    return false;
                }
                _state = 0;
                continue;
            }
            // Hex digits were already validated by the reader.
            _codeUnit = (_codeUnit << 4) | HexValue(b);
            if (++_state < 6)
            {
                continue;
            }
            _state = 0;
            bool high = _codeUnit is >= 0xD800 and <= 0xDBFF;
            bool low = _codeUnit is >= 0xDC00 and <= 0xDFFF;
            if (_wantLow)
            {
                if (!low)
                {
                    return false;
                }
                _wantLow = false;
            }
            else if (low)
            {
                return false;
            }
            else
            {
                _wantLow = high;
            }
        }
        return true;
    }

    private static int HexValue(byte b) => b <= (byte)'9' ? b - '0' : (b | 0x20) - 'a' + 10;
}
