using FastMcp.Audit.Reading;
using FastMcp.Pan;

namespace FastMcp.Audit.Recording;

/// <summary>
/// Serializers with their own buffers, for writing a record's fields outside the log's lock (issue #14: under the
/// lock, two connections recording at once waited for each other's serialization, spinning with sched_yield).
/// A fixed set of slots taken and returned with one interlocked exchange each; when every slot is out, a new
/// scratch is made and dropped after use. A buffer that grew past <see cref="KeepBelow"/> for a large record is
/// not kept, so the pool holds at most a few small buffers.
/// </summary>
internal sealed class RecordScratchPool(PanMasker? fieldMasker)
{
    private const int KeepBelow = 256 * 1024;

    private readonly RecordScratch?[] _slots = new RecordScratch?[Math.Clamp(Environment.ProcessorCount * 2, 4, 64)];

    public RecordScratch Rent()
    {
        RecordScratch?[] slots = _slots;
        for (int i = 0; i < slots.Length; i++)
        {
            if (Volatile.Read(ref slots[i]) is not null && Interlocked.Exchange(ref slots[i], null) is { } taken)
            {
                taken.Fields.Clear();
                return taken;
            }
        }
        return new RecordScratch(new AuditRecordSerializer(fieldMasker), new GrowableBuffer(4096));
    }

    public void Return(RecordScratch scratch)
    {
        if (scratch.Fields.RawArray.Length > KeepBelow) return;
        RecordScratch?[] slots = _slots;
        for (int i = 0; i < slots.Length; i++)
        {
            if (Volatile.Read(ref slots[i]) is null && Interlocked.CompareExchange(ref slots[i], scratch, null) is null) return;
        }
    }
}

/// <summary>One serializer and the buffer it writes a record's fields into.</summary>
internal sealed record RecordScratch(AuditRecordSerializer Serializer, GrowableBuffer Fields);
