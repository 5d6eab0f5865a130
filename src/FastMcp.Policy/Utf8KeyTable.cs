using System.Buffers.Binary;
using System.Text;

namespace FastMcp.Policy;

/// <summary>
/// A read-only hash table from UTF-8 byte strings to values, looked up by span without allocating.
/// Built once at compile time; open addressing with linear probing at load ≤ 0.5.
/// </summary>
internal sealed class Utf8KeyTable<T>
{
    private readonly byte[]?[] _keys;
    private readonly T[] _values;
    private readonly ulong[] _hashes;
    private readonly int _mask;

    public Utf8KeyTable(IReadOnlyList<KeyValuePair<string, T>> entries)
    {
        int size = 4;
        while (size < entries.Count * 2)
            size <<= 1;
        _keys = new byte[size][];
        _values = new T[size];
        _hashes = new ulong[size];
        _mask = size - 1;
        foreach (var (key, value) in entries)
        {
            byte[] bytes = Encoding.UTF8.GetBytes(key);
            ulong hash = Hash(bytes);
            int slot = (int)hash & _mask;
            while (_keys[slot] is { } existing)
            {
                if (_hashes[slot] == hash && existing.AsSpan().SequenceEqual(bytes))
                    throw new ArgumentException($"duplicate key '{key}'", nameof(entries));
                slot = (slot + 1) & _mask;
            }
            _keys[slot] = bytes;
            _values[slot] = value;
            _hashes[slot] = hash;
        }
        Count = entries.Count;
    }

    public int Count { get; }

    public bool TryGetValue(ReadOnlySpan<byte> key, out T value)
    {
        ulong hash = Hash(key);
        int slot = (int)hash & _mask;
        while (_keys[slot] is { } candidate)
        {
            if (_hashes[slot] == hash && candidate.AsSpan().SequenceEqual(key))
            {
                value = _values[slot];
                return true;
            }
            slot = (slot + 1) & _mask;
        }
        value = default!;
        return false;
    }

    // Keys come only from the policy, so a fast non-keyed hash is enough: attacker input only probes.
    private static ulong Hash(ReadOnlySpan<byte> s)
    {
        const ulong prime = 0x100000001B3UL;
        ulong h = 0xCBF29CE484222325UL ^ (ulong)s.Length;
        while (s.Length >= 8)
        {
            h = (h ^ BinaryPrimitives.ReadUInt64LittleEndian(s)) * prime;
            h ^= h >> 29;
            s = s[8..];
        }
        foreach (byte b in s)
            h = (h ^ b) * prime;
        h ^= h >> 32;
        return h;
    }
}
