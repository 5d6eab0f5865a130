namespace FastMcp.Audit;

/// <summary>The audit log cannot be written right now; the caller must fail closed (503, nothing forwarded).</summary>
public sealed class AuditUnavailableException : Exception
{
    public AuditUnavailableException() : base("The audit log is not writable.") { }
    public AuditUnavailableException(string message) : base(message) { }
    public AuditUnavailableException(string message, Exception inner) : base(message, inner) { }
}
