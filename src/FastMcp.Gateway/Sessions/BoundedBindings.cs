namespace FastMcp.Gateway.Sessions;

/// <summary>
/// The bindings of one session table grouped by caller, and which of them go when a bound is passed: one caller keeps
/// at most maxPerCaller (past it, its own least recently used), the table at most maxTotal (past it, the least recently
/// used of a caller holding the most). Shared by plain routes' bindings (per upstream) and federated sessions (per
/// path), so that both trim the same way. The owner keeps its own index by id and forgets there what this hands back.
/// Every call is made under the owner's lock; <see cref="Count"/> may be read without it.
/// </summary>
internal sealed class BoundedBindings(int maxTotal, int maxPerCaller)
{
    private readonly Dictionary<(string Subject, string? Issuer), CallerBindings> _byCaller = [];
    private readonly CallersByCount _byCount = new();
    private int _count;

    public int MaxTotal { get; } = maxTotal;

    public int MaxPerCaller { get; } = maxPerCaller;

    public int Count => Volatile.Read(ref _count);

    public int CountOf(string subject, string? issuer) => _byCaller.TryGetValue((subject, issuer), out CallerBindings? c) ? c.Count : 0;

    /// <summary>
    /// Binds <paramref name="id"/> to the caller. What had to go to stay within the bounds (at most one per bound, never
    /// the new binding) is already out of here and comes back for the owner to forget in its own index.
    /// </summary>
    public SessionBinding Add(string id, string subject, string? issuer, out SessionBinding? evictedForCaller, out SessionBinding? evictedForTotal)
    {
        evictedForCaller = evictedForTotal = null;
        if (!_byCaller.TryGetValue((subject, issuer), out CallerBindings? mine))
        {
            mine = new CallerBindings(new SessionOwner(subject, issuer));
            _byCaller.Add((subject, issuer), mine);
        }
        // The caller's own oldest goes first: one caller opening sessions in a loop only ever pushes out its own.
        if (mine.Count >= MaxPerCaller)
        {
            evictedForCaller = mine.Oldest();
            Remove(evictedForCaller);
            // Removing its last binding took the caller out of the map; it is about to hold one again.
            if (mine.Count == 0) _byCaller.Add((subject, issuer), mine);
        }
        var binding = new SessionBinding(id, mine);
        mine.Append(binding);
        _byCount.Raised(mine);
        Volatile.Write(ref _count, _count + 1);
        // One in, one out: the table is at most one over, and the heaviest holder (perhaps this caller) gives up its
        // least recently used. Max-min fair: the largest holders come down level with each other before anyone
        // holding fewer loses a session. The work is one scan of that caller's own bindings (at most maxPerCaller).
        if (_count > MaxTotal)
        {
            // Among equals the caller that reached the top last gives first (the grower pays), except when everyone
            // holds one: then this caller's only binding is the one just made, and another's goes instead.
            CallerBindings heaviest = _byCount.Heaviest!;
            if (heaviest == mine && mine.Count == 1) heaviest = mine.Next!;
            evictedForTotal = heaviest.Oldest();
            Remove(evictedForTotal);
        }
        return binding;
    }

    /// <summary>Takes a binding held here out of its caller's list and its caller down a count.</summary>
    public void Remove(SessionBinding binding)
    {
        Volatile.Write(ref _count, _count - 1);
        CallerBindings caller = binding.Caller;
        caller.Take(binding);
        _byCount.Lowered(caller);
        if (caller.Count == 0) _byCaller.Remove((caller.Owner.Subject, caller.Owner.Issuer));
    }
}
