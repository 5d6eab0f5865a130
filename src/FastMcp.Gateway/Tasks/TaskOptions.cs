namespace FastMcp.Gateway.Tasks;

/// <summary>How many task bindings the gateway keeps (docs/configuration.md, "tasks").</summary>
public sealed class TaskOptions
{
    /// <summary>Task bindings one caller (issuer and subject) keeps per upstream; past it that caller's own oldest is forgotten.</summary>
    public int MaxPerCaller { get; set; } = 1_000;

    /// <summary>Task bindings kept per upstream; past it the oldest binding of the upstream is forgotten.</summary>
    public int MaxPerUpstream { get; set; } = 100_000;

    /// <summary>
    /// Clients get task ids sealed for them (the upstream's id with a tag binding it to the caller and the upstream, keyed
    /// from the card fingerprint key), so that every replica, and this one after a restart, can tell whose task an id is;
    /// needs a configured card fingerprint key.
    /// </summary>
    public bool Sealed { get; set; }
}
