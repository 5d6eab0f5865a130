namespace FastMcp.Gateway.Hosting;

/// <summary>
/// What bounds a local server's connections (docs/operations.md, "The admin listener"): how many may be open at once,
/// how long one may wait silent for its next request, and how long a request's head and body may take to arrive. A
/// connection past any of them is closed and counted, so nobody who reaches the listener can hold its sockets (and the
/// process's file descriptors, which the MCP listener shares) without bound.
/// </summary>
internal sealed class LocalServerLimits
{
    /// <summary>Connections served at once (the admin listener's: admin.maxConnections).</summary>
    public int MaxConnections { get; init; } = Configuration.AdminOptions.DefaultMaxConnections;
    /// <summary>From accepting a connection to the first byte of its first request.</summary>
    public TimeSpan FirstRequest { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>From an answer to the first byte of the connection's next request.</summary>
    public TimeSpan KeepAlive { get; init; } = TimeSpan.FromSeconds(120);
    /// <summary>From a request's first byte to the end of its head.</summary>
    public TimeSpan Head { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>To receive a request's body, and to hand the client its answer.</summary>
    public TimeSpan Body { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Connections closed on accept because <see cref="MaxConnections"/> were open.</summary>
    public long ConnectionsRefused;
    /// <summary>Connections closed because a request (or the next one) did not arrive, or its answer was not taken, in time.</summary>
    public long TimedOut;

    /// <summary>No bound (the demo MCP server: a local upstream for trying the gateway and for load runs).</summary>
    public static LocalServerLimits Unbounded => new()
    {
        MaxConnections = int.MaxValue,
        FirstRequest = Timeout.InfiniteTimeSpan,
        KeepAlive = Timeout.InfiniteTimeSpan,
        Head = Timeout.InfiniteTimeSpan,
        Body = Timeout.InfiniteTimeSpan,
    };

    /// <summary>The admin listener's bounds: admin.maxConnections, its times those of the MCP listener (<c>timeouts</c>).</summary>
    public static LocalServerLimits Admin(Configuration.AdminOptions admin, Configuration.TimeoutOptions t) => new()
    {
        MaxConnections = admin.MaxConnections,
        FirstRequest = TimeSpan.FromMilliseconds(t.FirstRequestMs),
        KeepAlive = TimeSpan.FromMilliseconds(t.KeepAliveMs),
        Head = TimeSpan.FromMilliseconds(t.RequestHeadersMs),
        Body = TimeSpan.FromMilliseconds(t.RequestBodyMs),
    };
}
