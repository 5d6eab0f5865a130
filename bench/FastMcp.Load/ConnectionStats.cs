using HdrHistogram;

namespace FastMcp.Load;

/// <summary>
/// What one connection observed inside the measured window. Each connection owns its own, so
/// recording takes no lock; the run merges them at the end.
/// </summary>
internal sealed class ConnectionStats
{
    /// <summary>Latencies are recorded in microseconds, from 1 µs to 100 s, 3 significant digits.</summary>
    public const long HighestMicroseconds = 100_000_000;

    public LongHistogram Latency { get; } = new(1, HighestMicroseconds, 3);
    public long Completed;
    public long Ok;
    public long DenyCalls;
    public long Denied;
    public long HttpErrors;
    public long RpcErrors;
    public long ProtocolErrors;
    public long ConnectErrors;
    public long Timeouts;
    public long UnmaskedCards;
    public long SseNotifications;
    public long Reconnects;
    public string? LastError;

    public void Add(ConnectionStats other)
    {
        Latency.Add(other.Latency);
        Completed += other.Completed;
        Ok += other.Ok;
        DenyCalls += other.DenyCalls;
        Denied += other.Denied;
        HttpErrors += other.HttpErrors;
        RpcErrors += other.RpcErrors;
        ProtocolErrors += other.ProtocolErrors;
        ConnectErrors += other.ConnectErrors;
        Timeouts += other.Timeouts;
        UnmaskedCards += other.UnmaskedCards;
        SseNotifications += other.SseNotifications;
        Reconnects += other.Reconnects;
        LastError ??= other.LastError;
    }

    public long Errors => HttpErrors + RpcErrors + ProtocolErrors + ConnectErrors + Timeouts;
}
