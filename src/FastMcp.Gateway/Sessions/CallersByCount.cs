namespace FastMcp.Gateway.Sessions;

/// <summary>
/// A table's callers grouped by how many bindings each holds, so that a full table finds its heaviest holder in O(1)
/// instead of sorting everyone's bindings. A caller's count only ever moves by one, so it moves to the neighbouring
/// group and the highest count falls by at most one at a time. Under the table's lock.
/// </summary>
internal sealed class CallersByCount
{
    // Index = bindings held; each entry heads a doubly linked list of the callers holding that many. Grown as counts
    // grow: a caller at count n holds n bindings already, one slot per count level is small beside them.
    private CallerBindings?[] _heads = new CallerBindings?[8];

    /// <summary>The most bindings any caller holds (0 when none).</summary>
    public int Highest { get; private set; }

    /// <summary>A caller holding <see cref="Highest"/>, the one that reached that count last; null when the table is empty.</summary>
    public CallerBindings? Heaviest => _heads[Highest];

    /// <summary>The caller's count went up by one (from Count - 1).</summary>
    public void Raised(CallerBindings caller)
    {
        if (caller.Count > 1) Unlink(caller, caller.Count - 1);
        if (caller.Count >= _heads.Length) Array.Resize(ref _heads, Math.Max(_heads.Length * 2, caller.Count + 1));
        Link(caller, caller.Count);
        if (caller.Count > Highest) Highest = caller.Count;
    }

    /// <summary>The caller's count went down by one (from Count + 1); at zero it leaves the groups.</summary>
    public void Lowered(CallerBindings caller)
    {
        Unlink(caller, caller.Count + 1);
        if (caller.Count > 0) Link(caller, caller.Count);
        // Only a caller leaving the top group empties it, and it went one down (or out, from 1 to 0).
        if (_heads[Highest] is null) Highest--;
    }

    private void Link(CallerBindings caller, int count)
    {
        CallerBindings? head = _heads[count];
        caller.Previous = null;
        caller.Next = head;
        if (head is not null) head.Previous = caller;
        _heads[count] = caller;
    }

    private void Unlink(CallerBindings caller, int count)
    {
        if (caller.Previous is null) _heads[count] = caller.Next;
        else caller.Previous.Next = caller.Next;
        if (caller.Next is not null) caller.Next.Previous = caller.Previous;
        caller.Previous = caller.Next = null;
    }
}
