namespace FastMcp.Gateway.Configuration;

/// <summary>
/// The data path's threads (docs/configuration.md, "threads"). Read once at start, before the gateway starts a
/// thread of its own; a reload that changes them says "restart required". The environment variables named below
/// override the file (for a benchmark or a one-off run without editing it).
/// </summary>
public sealed class ThreadOptions
{
    /// <summary>Epoll loop threads for the data sockets (Linux x86-64); 0: one per core. FASTMCP_SOCKET_THREADS overrides.</summary>
    public int SocketLoops { get; set; }

    /// <summary>
    /// "normal" or "batch": Linux SCHED_BATCH for every gateway thread, for nodes the gateway does not share with
    /// lower-priority work (docs/operations.md, "Tuning"). FASTMCP_THREAD_SCHEDULING overrides.
    /// </summary>
    public string Scheduling { get; set; } = "normal";
}
