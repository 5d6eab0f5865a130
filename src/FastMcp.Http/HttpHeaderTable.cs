using System.Text;

namespace FastMcp.Http;

/// <summary>
/// The header fields of one message, as ranges into the head's own byte buffer. Reused across
/// messages of a connection so that parsing allocates nothing in steady state.
/// </summary>
public sealed class HttpHeaderTable
{
    // Room for a usual head; a head with more fields grows the table once (up to the limit) and the connection keeps it.
    // Two tables per in-flight call (client request, upstream answer): 32 entries are 640 bytes, 100 were 2,000.
    private const int InitialEntries = 32;

    private HeaderEntry[] _entries;
    private readonly int _maxHeaders;
    private readonly short[] _firstIndex = new short[KnownHeaders.Count];
    private byte[] _buffer = [];

    public HttpHeaderTable(int maxHeaders)
    {
        _maxHeaders = maxHeaders;
        _entries = new HeaderEntry[Math.Min(InitialEntries, maxHeaders)];
        Clear();
    }

    public int Count { get; private set; }

    /// <summary>The most fields a head may have (limits.maxHeaderCount).</summary>
    public int Capacity => _maxHeaders;

    internal void Reset(byte[] buffer)
    {
        _buffer = buffer;
        Clear();
    }

    private void Clear()
    {
        Count = 0;
        _firstIndex.AsSpan().Fill(-1);
    }

    internal bool TryAdd(int nameStart, int nameLength, int valueStart, int valueLength, KnownHeader kind)
    {
        if (Count == _entries.Length)
        {
            if (Count >= _maxHeaders) return false;
            Array.Resize(ref _entries, Math.Min(_maxHeaders, _entries.Length * 2));
        }
        _entries[Count] = new HeaderEntry(nameStart, nameLength, valueStart, valueLength, kind);
        if (_firstIndex[(int)kind] < 0) _firstIndex[(int)kind] = (short)Count;
        Count++;
        return true;
    }

    public KnownHeader KindAt(int index) => _entries[index].Kind;

    public ReadOnlySpan<byte> NameAt(int index)
    {
        ref readonly HeaderEntry e = ref _entries[index];
        return _buffer.AsSpan(e.NameStart, e.NameLength);
    }

    public ReadOnlySpan<byte> ValueAt(int index)
    {
        ref readonly HeaderEntry e = ref _entries[index];
        return _buffer.AsSpan(e.ValueStart, e.ValueLength);
    }

    public ReadOnlyMemory<byte> ValueMemoryAt(int index)
    {
        ref readonly HeaderEntry e = ref _entries[index];
        return _buffer.AsMemory(e.ValueStart, e.ValueLength);
    }

    /// <summary>Whole "Name: value" line without CRLF, as received (used when copying unchanged).</summary>
    public ReadOnlySpan<byte> LineAt(int index)
    {
        ref readonly HeaderEntry e = ref _entries[index];
        return _buffer.AsSpan(e.NameStart, e.ValueStart + e.ValueLength - e.NameStart);
    }

    public bool Contains(KnownHeader kind) => _firstIndex[(int)kind] >= 0;

    /// <summary>Value of the first field of that kind, or empty.</summary>
    public ReadOnlySpan<byte> Get(KnownHeader kind)
    {
        int i = _firstIndex[(int)kind];
        return i < 0 ? default : ValueAt(i);
    }

    public ReadOnlyMemory<byte> GetMemory(KnownHeader kind)
    {
        int i = _firstIndex[(int)kind];
        return i < 0 ? default : ValueMemoryAt(i);
    }

    public int IndexOf(KnownHeader kind) => _firstIndex[(int)kind];

    /// <summary>Value of the first field with this name (any header, case-insensitive), or empty.</summary>
    public bool TryGet(ReadOnlySpan<byte> name, out ReadOnlySpan<byte> value)
    {
        for (int i = 0; i < Count; i++)
        {
            if (Ascii.EqualsIgnoreCase(NameAt(i), name))
            {
                value = ValueAt(i);
                return true;
            }
        }
        value = default;
        return false;
    }

    /// <summary>True when the Connection header lists <paramref name="name"/> as a token (so it is hop-by-hop).</summary>
    public bool ConnectionListsToken(ReadOnlySpan<byte> name)
    {
        for (int i = 0; i < Count; i++)
        {
            if (_entries[i].Kind != KnownHeader.Connection) continue;
            if (HttpTokens.ListContains(ValueAt(i), name)) return true;
        }
        return false;
    }

    private readonly record struct HeaderEntry(int NameStart, int NameLength, int ValueStart, int ValueLength, KnownHeader Kind);
}
