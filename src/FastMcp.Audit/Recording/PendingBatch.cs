using FastMcp.Audit.Format;
using FastMcp.Audit.Reading;

namespace FastMcp.Audit.Recording;

/// <summary>
/// Records serialized by callers and not yet written, laid out as a records frame's raw bytes (u32 length, body, a
/// 32-byte slot the writer fills with the chain hash), and who waits for them.
/// </summary>
internal sealed class PendingBatch
{
    public readonly GrowableBuffer Entries = new(256 * 1024);
    // Not readonly: a group commit swaps it with its GroupCompletion's empty list.
    public List<AppendWaiter> Waiters = new(256);
    public int Count;

    /// <summary>Bytes of the queued records and their length prefixes, without the chain slots (what batchedFlushBytes counts).</summary>
    public int RecordBytes => Entries.WrittenCount - Count * RecordLayout.ChainHashSize;

    /// <summary>Leaves the slot the writer fills with the chain hash after a record just appended to <paramref name="entries"/>.</summary>
    public static void LeaveChainSlot(GrowableBuffer entries)
    {
        entries.GetSpan(RecordLayout.ChainHashSize);
        entries.Advance(RecordLayout.ChainHashSize);
    }

    public void Clear()
    {
        Entries.Clear();
        Waiters.Clear();
        Count = 0;
    }
}
