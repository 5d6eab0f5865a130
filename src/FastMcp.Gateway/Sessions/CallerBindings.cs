namespace FastMcp.Gateway.Sessions;

/// <summary>
/// One caller's bindings in one table (a plain route's upstream, or a federated path): its own least recently used is
/// found without scanning the table. Changed only under the table's lock.
/// </summary>
internal sealed class CallerBindings(SessionOwner owner)
{
    public readonly SessionOwner Owner = owner;
    public SessionBinding[] Held = new SessionBinding[4];
    public int Count;

    // Neighbours among the callers holding as many bindings (CallersByCount): moving one is O(1).
    public CallerBindings? Previous, Next;

    public void Append(SessionBinding binding)
    {
        if (Count == Held.Length) Array.Resize(ref Held, Held.Length * 2);
        binding.Slot = Count;
        Held[Count++] = binding;
    }

    /// <summary>Takes a binding out of the list, the last one moving into its slot (order is by LastUsed, not position).</summary>
    public void Take(SessionBinding binding)
    {
        SessionBinding last = Held[--Count];
        Held[binding.Slot] = last;
        last.Slot = binding.Slot;
        Held[Count] = null!;
    }

    /// <summary>The least recently used binding: one pass over this caller's own (at most sessions.maxPerCaller).</summary>
    public SessionBinding Oldest()
    {
        SessionBinding oldest = Held[0];
        long age = Volatile.Read(ref oldest.LastUsed);
        for (int i = 1; i < Count; i++)
        {
            long used = Volatile.Read(ref Held[i].LastUsed);
            if (used < age)
            {
                age = used;
                oldest = Held[i];
            }
        }
        return oldest;
    }
}
