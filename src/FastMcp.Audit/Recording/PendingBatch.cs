using FastMcp.Audit.Reading;

namespace FastMcp.Audit.Recording;

/// <summary>Records serialized by callers and not yet written: u32 length + body entries, and who waits for them.</summary>
internal sealed class PendingBatch
{
    public readonly GrowableBuffer Entries = new(256 * 1024);
    // Not readonly: a group commit swaps it with its GroupCompletion's empty list.
    public List<AppendWaiter> Waiters = new(256);
    public int Count;

    public void Clear()
    {
        Entries.Clear();
        Waiters.Clear();
        Count = 0;
    }
}
