namespace FastMcp.Load;

/// <summary>
/// Splits a text/event-stream body into events as bytes arrive and hands each event's data to a
/// callback. Only complete lines are consumed; line ends may be LF or CRLF.
/// </summary>
internal sealed class SseEventScanner
{
    private byte[] _data = new byte[4096];
    private int _dataLength;
    private bool _hasData;

    /// <summary>Where the next unprocessed line starts in the body buffer.</summary>
    public int Position { get; private set; }

    public void Reset()
    {
        Position = 0;
        _dataLength = 0;
        _hasData = false;
    }

    /// <summary>
    /// Processes complete lines of <paramref name="body"/> from <see cref="Position"/> up to the end
    /// of the next event that has data; false when no such event is complete yet.
    /// </summary>
    public bool TryReadEvent(ReadOnlySpan<byte> body, out ReadOnlySpan<byte> data)
    {
        data = default;
        while (Position < body.Length)
        {
            var rest = body[Position..];
            var lf = rest.IndexOf((byte)'\n');
            if (lf < 0)
            {
                return false;
            }

            var line = rest[..lf];
            if (!line.IsEmpty && line[^1] == (byte)'\r')
            {
                line = line[..^1];
            }

            Position += lf + 1;
            if (line.IsEmpty)
            {
                if (_hasData)
                {
                    // Valid until the next call: the next event reuses the buffer.
                    data = _data.AsSpan(0, _dataLength);
                    _dataLength = 0;
                    _hasData = false;
                    return true;
                }
            }
            else if (line.StartsWith("data:"u8))
            {
                var value = line[5..];
                if (!value.IsEmpty && value[0] == (byte)' ')
                {
                    value = value[1..];
                }

                Append(value);
            }
        }

        return false;
    }

    private void Append(ReadOnlySpan<byte> value)
    {
        // Several data lines of one event join with LF, as the SSE spec says.
        var needed = _dataLength + value.Length + (_hasData ? 1 : 0);
        if (needed > _data.Length)
        {
            Array.Resize(ref _data, Math.Max(needed, _data.Length * 2));
        }

        if (_hasData)
        {
            _data[_dataLength++] = (byte)'\n';
        }

        value.CopyTo(_data.AsSpan(_dataLength));
        _dataLength += value.Length;
        _hasData = true;
    }
}
