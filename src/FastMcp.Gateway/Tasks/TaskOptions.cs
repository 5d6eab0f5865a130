namespace FastMcp.Gateway.Tasks;

/// <summary>How many task bindings the gateway keeps (docs/configuration.md, "tasks").</summary>
public sealed class TaskOptions
{
    /// <summary>Task bindings one caller (issuer and subject) keeps per upstream; past it that caller's own oldest is forgotten.</summary>
    public int MaxPerCaller { get; set; } = 1_000;

    /// <summary>Task bindings kept per upstream; past it the oldest binding of the upstream is forgotten.</summary>
    public int MaxPerUpstream { get; set; } = 100_000;
}
