using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
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
/// two upstreams may issue the same id). Bounded twice per upstream: one caller keeps at most maxPerCaller bindings
/// (past it, that caller's own least recently used is forgotten, nobody else's), and the table at most maxPerUpstream
/// (past it, the least recently used binding of a caller holding the most: a few heavy holders filling the table lose
/// their own sessions before a caller holding few loses any). Forgotten sessions are unknown here, and are handed to
/// <c>endForgotten</c> to be ended at their upstream (Sessions/SessionEnder.cs) unless unknown ids are forwarded: then
/// another replica may be serving that session, since each replica binds sessions for itself. Looking an id up
/// allocates nothing and takes no lock; binding and forgetting take the upstream's lock (once per session, not per
/// request) and, past a bound, scan one caller's own bindings under it, never the whole table.
/// </summary>
/// <param name="endForgotten">called with the upstream's name and the session id of a binding forgotten past a bound (under
/// the upstream's lock: it must only queue); null: none is ended.</param>
internal sealed class SessionBindings(int maxPerUpstream, int maxPerCaller, bool forwardUnknown, Action<string, string>? endForgotten = null)
{
    private const int StackChars = 256;

    private sealed class Table
    {
        public readonly ConcurrentDictionary<string, SessionBinding> ById = new(StringComparer.Ordinal);
        public readonly ConcurrentDictionary<string, SessionBinding>.AlternateLookup<ReadOnlySpan<char>> BySpan;
        // The same bindings by caller, and which go past a bound (Sessions/BoundedBindings.cs).
        public readonly BoundedBindings ByCaller;
        // Every change to ById and ByCaller; lookups read ById without it.
        public readonly Lock Gate = new();
        public readonly string Upstream;

        public Table(string upstream, int maxPerUpstream, int maxPerCaller)
        {
            Upstream = upstream;
            BySpan = ById.GetAlternateLookup<ReadOnlySpan<char>>();
            ByCaller = new BoundedBindings(maxPerUpstream, maxPerCaller);
        }
    }

    private readonly ConcurrentDictionary<string, Table> _byUpstream = new(StringComparer.Ordinal);
    private long _evictedForCaller, _evictedForUpstream;
    // With "forward" the binding is this replica's alone, not the session's: another replica may be using it.
    private readonly Action<string, string>? _endForgotten = forwardUnknown ? null : endForgotten;

    /// <summary>sessions.unknown is "forward": an unknown id goes to the upstream and is bound to its first caller here.</summary>
    public bool ForwardsUnknown { get; } = forwardUnknown;

    public int MaxPerUpstream { get; } = maxPerUpstream;

    public int MaxPerCaller { get; } = maxPerCaller;

    /// <summary>Bindings forgotten because their caller passed sessions.maxPerCaller (that caller's own oldest).</summary>
    public long EvictedForCaller => Volatile.Read(ref _evictedForCaller);

    /// <summary>Bindings forgotten because their upstream's table passed sessions.maxPerUpstream (from its heaviest holders).</summary>
    public long EvictedForUpstream => Volatile.Read(ref _evictedForUpstream);

    /// <summary>Whether <paramref name="id"/> on <paramref name="upstream"/> is the caller's; an owned binding counts as used now.</summary>
    public SessionCheck Check(string upstream, ReadOnlySpan<byte> id, Principal caller) => Check(upstream, id, caller, out _);

    /// <inheritdoc cref="Check(string, ReadOnlySpan{byte}, Principal)"/>
    /// <param name="owner">For <see cref="SessionCheck.Foreign"/>, whom the session belongs to (for the refusal's record).</param>
    public SessionCheck Check(string upstream, ReadOnlySpan<byte> id, Principal caller, out SessionOwner? owner)
    {
        owner = null;
        if (!_byUpstream.TryGetValue(upstream, out Table? table)) return SessionCheck.Unknown;
        char[]? rented = id.Length > StackChars ? ArrayPool<char>.Shared.Rent(id.Length) : null;
        try
        {
            // Latin-1 maps every byte to one char: two different ids never meet as one key.
            Span<char> chars = rented ?? stackalloc char[StackChars];
            int n = Encoding.Latin1.GetChars(id, chars);
            if (!table.BySpan.TryGetValue(chars[..n], out SessionBinding? binding)) return SessionCheck.Unknown;
            if (!binding.Caller.Owner.Is(caller))
            {
                owner = binding.Caller.Owner;
                return SessionCheck.Foreign;
            }
            Volatile.Write(ref binding.LastUsed, Stopwatch.GetTimestamp());
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
        Table table = _byUpstream.GetOrAdd(upstream, static (name, bounds) => new Table(name, bounds.MaxPerUpstream, bounds.MaxPerCaller), this);
        string key = Encoding.Latin1.GetString(id);
        lock (table.Gate)
        {
            if (table.ById.TryGetValue(key, out SessionBinding? previous)) Remove(table, previous);
            Add(table, key, caller);
        }
    }

    /// <summary>
    /// sessions.unknown "forward": binds an id not bound here to its first caller. Two callers naming the same unknown id
    /// at once are decided under the lock: the first binds it, the other finds it <see cref="SessionCheck.Foreign"/>.
    /// </summary>
    public SessionCheck BindIfUnbound(string upstream, ReadOnlySpan<byte> id, Principal caller, out SessionOwner? owner)
    {
        owner = null;
        Table table = _byUpstream.GetOrAdd(upstream, static (name, bounds) => new Table(name, bounds.MaxPerUpstream, bounds.MaxPerCaller), this);
        string key = Encoding.Latin1.GetString(id);
        lock (table.Gate)
        {
            if (table.ById.TryGetValue(key, out SessionBinding? existing))
            {
                if (existing.Caller.Owner.Is(caller)) return SessionCheck.Owned;
                owner = existing.Caller.Owner;
                return SessionCheck.Foreign;
            }
            Add(table, key, caller);
            return SessionCheck.Owned;
        }
    }

    /// <summary>Forgets a session that ended (DELETE): its id is unknown from now on.</summary>
    public void Forget(string upstream, ReadOnlySpan<byte> id)
    {
        if (!_byUpstream.TryGetValue(upstream, out Table? table)) return;
        string key = Encoding.Latin1.GetString(id);
        lock (table.Gate)
        {
            if (table.ById.TryGetValue(key, out SessionBinding? binding)) Remove(table, binding);
        }
    }

    public int Count(string upstream) => _byUpstream.TryGetValue(upstream, out Table? table) ? table.ByCaller.Count : 0;

    /// <summary>Bindings held for <paramref name="caller"/> on <paramref name="upstream"/>.</summary>
    public int CountOf(string upstream, Principal caller)
    {
        if (!_byUpstream.TryGetValue(upstream, out Table? table)) return 0;
        lock (table.Gate) return table.ByCaller.CountOf(caller.Subject, caller.Issuer);
    }

    /// <summary>Bindings held, all upstreams together.</summary>
    public long Total()
    {
        long total = 0;
        foreach (Table table in _byUpstream.Values) total += table.ByCaller.Count;
        return total;
    }

    private void Add(Table table, string key, Principal caller)
    {
        SessionBinding binding = table.ByCaller.Add(key, caller.Subject, caller.Issuer, out SessionBinding? evictedForCaller, out SessionBinding? evictedForUpstream);
        if (evictedForCaller is not null)
        {
            table.ById.TryRemove(new KeyValuePair<string, SessionBinding>(evictedForCaller.Id, evictedForCaller));
            Interlocked.Increment(ref _evictedForCaller);
            _endForgotten?.Invoke(table.Upstream, evictedForCaller.Id);
        }
        table.ById[key] = binding;
        if (evictedForUpstream is not null)
        {
            table.ById.TryRemove(new KeyValuePair<string, SessionBinding>(evictedForUpstream.Id, evictedForUpstream));
            Interlocked.Increment(ref _evictedForUpstream);
            _endForgotten?.Invoke(table.Upstream, evictedForUpstream.Id);
        }
    }

    /// <summary>Takes a binding out of the table and out of its caller's.</summary>
    private static void Remove(Table table, SessionBinding binding)
    {
        if (table.ById.TryRemove(new KeyValuePair<string, SessionBinding>(binding.Id, binding))) table.ByCaller.Remove(binding);
    }
}
