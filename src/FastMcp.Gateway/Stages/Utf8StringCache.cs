using System.IO.Hashing;
using System.Text;

namespace FastMcp.Gateway.Stages;

/// <summary>
/// Turns the few distinct UTF-8 values that recur on every request (tool names, session ids,
/// client names) into strings once, so records do not allocate a string per request. Looked up by
/// the bytes themselves (no decoding on a hit) in an insert-only table that readers search without
/// a lock. Bounded: past its capacity it stops remembering and allocates. The hash is keyed per
/// process and a lookup probes at most a few slots, so values chosen to collide cost an allocation,
/// never a long search.
/// </summary>
internal sealed class Utf8StringCache
{
    private const int MaxProbes = 8;
    private const int MaxKeyBytes = 256;

    private readonly Table _text;
    private readonly Table _hex;

    public Utf8StringCache(int capacity)
    {
        _text = new Table(capacity);
        _hex = new Table(capacity);
    }

    public string Get(ReadOnlySpan<byte> utf8)
    {
        if (utf8.IsEmpty) return "";
        if (utf8.Length > MaxKeyBytes) return Encoding.UTF8.GetString(utf8);
        return _text.Find(utf8, out ulong hash) ?? _text.Add(utf8, hash, Encoding.UTF8.GetString(utf8));
    }

    /// <summary>Lower-case hex of <paramref name="bytes"/> (card fingerprints recur: the same cards come back).</summary>
    public string Hex(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length > MaxKeyBytes / 2) return Convert.ToHexStringLower(bytes);
        return _hex.Find(bytes, out ulong hash) ?? _hex.Add(bytes, hash, Convert.ToHexStringLower(bytes));
    }

    private sealed class Entry(byte[] key, ulong hash, string value)
    {
        public readonly byte[] Key = key;
        public readonly ulong Hash = hash;
        public readonly string Value = value;
    }

    /// <summary>Open addressing, twice as many slots as entries; a slot, once set, never changes.</summary>
    private sealed class Table
    {
        private static readonly long Seed = Random.Shared.NextInt64();

        private readonly Entry?[] _slots;
        private readonly int _mask;
        private readonly int _capacity;
        private readonly Lock _gate = new();
        private int _count;

        public Table(int capacity)
        {
            _capacity = capacity;
            int size = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(16, capacity * 2));
            _slots = new Entry?[size];
            _mask = size - 1;
        }

        public string? Find(ReadOnlySpan<byte> key, out ulong hash)
        {
            hash = XxHash3.HashToUInt64(key, Seed);
            int i = (int)hash & _mask;
            for (int probe = 0; probe < MaxProbes; probe++)
            {
                Entry? e = Volatile.Read(ref _slots[i]);
                if (e is null) return null;
                if (e.Hash == hash && key.SequenceEqual(e.Key)) return e.Value;
                i = (i + 1) & _mask;
            }
            return null;
        }

        public string Add(ReadOnlySpan<byte> key, ulong hash, string value)
        {
            if (Volatile.Read(ref _count) >= _capacity) return value;
            lock (_gate)
            {
                if (_count >= _capacity) return value;
                int i = (int)hash & _mask;
                for (int probe = 0; probe < MaxProbes; probe++)
                {
                    Entry? e = _slots[i];
                    if (e is null)
                    {
                        Volatile.Write(ref _slots[i], new Entry(key.ToArray(), hash, value));
                        _count++;
                        return value;
                    }
                    // Another thread added the same key meanwhile: hand out its string.
                    if (e.Hash == hash && key.SequenceEqual(e.Key)) return e.Value;
                    i = (i + 1) & _mask;
                }
            }
            return value;
        }
    }
}
