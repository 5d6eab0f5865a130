using System.Collections.Concurrent;

namespace FastMcp.Identity;

/// <summary>
/// Verified tokens, kept until they expire or their issuer stops publishing the key that verified them, bounded
/// in size. A hit is one seeded 64-bit hash, one lookup, one vectorized comparison of the token bytes and one
/// reference comparison of key snapshots, and allocates nothing; inserting beyond the bound first drops expired
/// entries, then arbitrary ones.
/// </summary>
internal sealed class VerifiedTokenCache
{
    internal sealed class Entry(byte[] token, Principal principal, DateTimeOffset notAfter, bool missingRequiredScope,
        IssuerKeySource issuer, SigningKeySnapshot verifiedUnder, string? kid, string? keyIdentity, Confirmation? confirmation)
    {
        private SigningKeySnapshot _checkedAgainst = verifiedUnder;

        /// <summary>The exact token: equality with it, not the hash, is what makes a hit.</summary>
        public byte[] Token { get; } = token;
        public Principal Principal { get; } = principal;
        /// <summary>Expiry plus the allowed clock skew.</summary>
        public DateTimeOffset NotAfter { get; } = notAfter;
        public bool MissingRequiredScope { get; } = missingRequiredScope;
        /// <summary>The key the token is bound to (cnf), checked on every use; null for a plain bearer token.</summary>
        public Confirmation? Confirmation { get; } = confirmation;

        /// <summary>
        /// True while the issuer still publishes the key (kid and material) that verified the token. The common case,
        /// no refresh changed the keys since the last check, is one reference comparison; after a change the key is
        /// looked up once in the new snapshot and, when it is still there, the entry moves on to that snapshot.
        /// Never allocates. A key the validator could not identify (null) counts as gone after any change.
        /// </summary>
        public bool KeyStillPublished()
        {
            SigningKeySnapshot current = issuer.Current;
            if (ReferenceEquals(current, Volatile.Read(ref _checkedAgainst)))
                return true;
            if (keyIdentity is null || !current.StillPublishes(kid, keyIdentity))
                return false;
            Volatile.Write(ref _checkedAgainst, current);
            return true;
        }
    }

    private readonly ConcurrentDictionary<ulong, Entry> _entries = new();
    private readonly int _capacity;
    private int _count;
    private readonly Lock _trimLock = new();

    public VerifiedTokenCache(int capacity) => _capacity = capacity;

    public int Count => Volatile.Read(ref _count);

    public bool TryGet(ulong key, ReadOnlySpan<byte> token, out Entry entry) =>
        _entries.TryGetValue(key, out entry!) && token.SequenceEqual(entry.Token);

    /// <summary>Removes <paramref name="entry"/> only: a newer entry another request stored under the same key stays.</summary>
    public void Remove(ulong key, Entry entry)
    {
        if (_entries.TryRemove(new KeyValuePair<ulong, Entry>(key, entry)))
            Interlocked.Decrement(ref _count);
    }

    public void Remove(ulong key)
    {
        if (_entries.TryRemove(key, out _))
            Interlocked.Decrement(ref _count);
    }

    public void Add(ulong key, Entry entry, DateTimeOffset now)
    {
        if (Volatile.Read(ref _count) >= _capacity)
            Trim(now);
        if (_entries.TryAdd(key, entry))
            Interlocked.Increment(ref _count);
        else
            _entries[key] = entry;
    }

    public void Clear()
    {
        foreach (var pair in _entries)
            Remove(pair.Key);
    }

    private void Trim(DateTimeOffset now)
    {
        lock (_trimLock)
        {
            if (Volatile.Read(ref _count) < _capacity)
                return;
            foreach (var pair in _entries)
                if (pair.Value.NotAfter <= now)
                    Remove(pair.Key);
            // Still full of live tokens: drop a quarter; they are re-verified on their next use.
            int target = _capacity - _capacity / 4;
            foreach (var pair in _entries)
            {
                if (Volatile.Read(ref _count) <= target)
                    break;
                Remove(pair.Key);
            }
        }
    }
}
