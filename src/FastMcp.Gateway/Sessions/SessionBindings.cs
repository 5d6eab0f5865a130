using System.Buffers;
using System.Collections.Concurrent;
using System.Text;
using FastMcp.Identity;

namespace FastMcp.Gateway.Sessions;

/// <summary>What the table knows of a session id a request names.</summary>
internal enum SessionCheck : byte
{
    /// <summary>Bound to this caller.</summary>
    Owned,
    /// <summary>Bound to another caller: refused as if unknown (its existence is not revealed).</summary>
    Foreign,
    /// <summary>Not bound here: issued before a restart, on another replica, or forgotten (evicted, ended).</summary>
    Unknown,
}

/// <summary>
/// The Mcp-Session-Id values upstreams of plain routes issued, each bound to the caller it was issued to (per upstream:
/// two upstreams may issue the same id). Bounded per upstream: past the maximum, the least recently used bindings are
/// forgotten (their sessions are then unknown here). Looking an id up allocates nothing.
/// </summary>
internal sealed class SessionBindings(int maxPerUpstream, bool forwardUnknown)
{
    private const int StackChars = 256;

    private sealed class Binding(SessionOwner owner)
    {
        public readonly SessionOwner Owner = owner;
        public long LastUsed = Environment.TickCount64;
    }

    private sealed class Table
    {
        public readonly ConcurrentDictionary<string, Binding> ById = new(StringComparer.Ordinal);
        public readonly ConcurrentDictionary<string, Binding>.AlternateLookup<ReadOnlySpan<char>> BySpan;
        public readonly Lock Eviction = new();
        public int Count;

        public Table() => BySpan = ById.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    private readonly ConcurrentDictionary<string, Table> _byUpstream = new(StringComparer.Ordinal);

    /// <summary>sessions.unknown is "forward": an unknown id goes to the upstream and is bound to its first caller here.</summary>
    public bool ForwardsUnknown { get; } = forwardUnknown;

    public int MaxPerUpstream { get; } = maxPerUpstream;

    /// <summary>Whether <paramref name="id"/> on <paramref name="upstream"/> is the caller's; an owned binding counts as used now.</summary>
    public SessionCheck Check(string upstream, ReadOnlySpan<byte> id, Principal caller)
    {
        if (!_byUpstream.TryGetValue(upstream, out Table? table)) return SessionCheck.Unknown;
        char[]? rented = id.Length > StackChars ? ArrayPool<char>.Shared.Rent(id.Length) : null;
        try
        {
            // Latin-1 maps every byte to one char: two different ids never meet as one key.
            Span<char> chars = rented ?? stackalloc char[StackChars];
            int n = Encoding.Latin1.GetChars(id, chars);
            if (!table.BySpan.TryGetValue(chars[..n], out Binding? binding)) return SessionCheck.Unknown;
            if (!binding.Owner.Is(caller)) return SessionCheck.Foreign;
            Volatile.Write(ref binding.LastUsed, Environment.TickCount64);
            return SessionCheck.Owned;
        }
        finally
        {
            if (rented is not null) ArrayPool<char>.Shared.Return(rented);
        }
    }

    /// <summary>Binds <paramref name="id"/> to the caller (an upstream that issues an id again issues a new session: the latest caller owns it).</summary>
    public void Bind(string upstream, ReadOnlySpan<byte> id, Principal caller)
    {
        Table table = _byUpstream.GetOrAdd(upstream, static _ => new Table());
        string key = Encoding.Latin1.GetString(id);
        var binding = new Binding(SessionOwner.Of(caller));
        bool added = false;
        table.ById.AddOrUpdate(key, _ => { added = true; return binding; }, (_, _) => binding);
        if (added && Interlocked.Increment(ref table.Count) > MaxPerUpstream) EvictLeastRecentlyUsed(table);
    }

    /// <summary>Forgets a session that ended (DELETE): its id is unknown from now on.</summary>
    public void Forget(string upstream, ReadOnlySpan<byte> id)
    {
        if (!_byUpstream.TryGetValue(upstream, out Table? table)) return;
        if (table.ById.TryRemove(Encoding.Latin1.GetString(id), out _)) Interlocked.Decrement(ref table.Count);
    }

    public int Count(string upstream) => _byUpstream.TryGetValue(upstream, out Table? table) ? Volatile.Read(ref table.Count) : 0;

    /// <summary>
    /// Forgets the least recently used sixteenth of the table at once (at least down to the maximum), so that a full
    /// table scans once per many new sessions rather than once per session.
    /// </summary>
    private void EvictLeastRecentlyUsed(Table table)
    {
        lock (table.Eviction)
        {
            int excess = Volatile.Read(ref table.Count) - MaxPerUpstream;
            if (excess <= 0) return;
            int evict = Math.Max(excess, MaxPerUpstream / 16);
            var all = new List<KeyValuePair<string, Binding>>(table.ById);
            var ages = new long[all.Count];
            for (int i = 0; i < ages.Length; i++) ages[i] = Volatile.Read(ref all[i].Value.LastUsed);
            KeyValuePair<string, Binding>[] byAge = [.. all];
            Array.Sort(ages, byAge);
            for (int i = 0; i < evict && i < byAge.Length; i++)
            {
                if (table.ById.TryRemove(byAge[i])) Interlocked.Decrement(ref table.Count);
            }
        }
    }
}
