using System.Collections.Concurrent;
using System.Text;

namespace FastMcp.Gateway.Stages;

/// <summary>
/// Turns the few distinct UTF-8 values that recur on every request (tool names, session ids,
/// client names) into strings once, so records do not allocate a string per request. Bounded:
/// past its capacity it stops remembering and allocates.
/// </summary>
internal sealed class Utf8StringCache(int capacity)
{
    private readonly ConcurrentDictionary<string, string> _map = new(StringComparer.Ordinal);

    public string Get(ReadOnlySpan<byte> utf8)
    {
        if (utf8.IsEmpty) return "";
        if (utf8.Length > 256) return Encoding.UTF8.GetString(utf8);
        Span<char> chars = stackalloc char[256];
        int n = Encoding.UTF8.GetChars(utf8, chars);
        var lookup = _map.GetAlternateLookup<ReadOnlySpan<char>>();
        if (lookup.TryGetValue(chars[..n], out string? hit)) return hit;
        string s = new(chars[..n]);
        if (_map.Count < capacity) _map.TryAdd(s, s);
        return s;
    }

    /// <summary>Lower-case hex of <paramref name="bytes"/> (card fingerprints recur: the same cards come back).</summary>
    public string Hex(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length > 128) return Convert.ToHexStringLower(bytes);
        Span<char> chars = stackalloc char[256];
        Convert.TryToHexStringLower(bytes, chars, out int n);
        var lookup = _map.GetAlternateLookup<ReadOnlySpan<char>>();
        if (lookup.TryGetValue(chars[..n], out string? hit)) return hit;
        string s = new(chars[..n]);
        if (_map.Count < capacity) _map.TryAdd(s, s);
        return s;
    }
}
