namespace FastMcp.Audit;

/// <summary>When <see cref="AuditLog.AppendAsync"/> completes.</summary>
public enum AuditDurability
{
    /// <summary>After the record's frame is written and fsynced (group commit). The default.</summary>
    Strict,
    /// <summary>
    /// As soon as the record is queued; frames are flushed every <see cref="AuditOptions.BatchedFlushInterval"/>. Past
    /// <see cref="AuditOptions.BatchedMaxPendingBytes"/> not yet durable, the append first waits for room, then is refused.
    /// </summary>
    Batched,
}
