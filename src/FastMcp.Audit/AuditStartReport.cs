namespace FastMcp.Audit;

/// <summary>What <see cref="AuditLog"/> found when it opened the chain: crash recovery, tampering, or nothing.</summary>
public sealed class AuditStartReport
{
    /// <summary>One line for the AuditStarted record and the log: what was recovered and how long the writer was silent.</summary>
    public string Summary { get; init; } = "";
    /// <summary>Set when the open segment (or a signed note) contradicted a signed checkpoint or seal; also recorded as an AuditTampering record.</summary>
    public string? Tampering { get; init; }
    /// <summary>Files renamed aside as evidence (never deleted, never signed).</summary>
    public IReadOnlyList<string> Evidence { get; init; } = [];
    public bool TamperingFound => Tampering is not null;
}
