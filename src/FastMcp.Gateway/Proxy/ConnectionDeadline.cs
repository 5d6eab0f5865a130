namespace FastMcp.Gateway.Proxy;

/// <summary>
/// A connection's current timeout (first request, keep-alive, head, body, upstream response) as a token that is
/// cancelled once the deadline passes. Arming is a field write: one shared heartbeat (every
/// <see cref="TickMs"/> ms) cancels whatever has expired, so a timeout fires between its deadline and one tick
/// later, never before. A CancellationTokenSource.CancelAfter per stage cost two timer-queue updates (each under
/// the queue's lock) several times per request (issue #14 profile).
/// </summary>
internal sealed class ConnectionDeadline : IDisposable
{
    public const int TickMs = 50;

    private const long Disarmed = long.MaxValue;
    // Set by the heartbeat when it takes a deadline to cancel it: the next Arm needs a fresh source.
    private const long Expired = long.MinValue;

    private static readonly object s_lock = new();
    private static readonly List<ConnectionDeadline> s_armed = [];
    private static Timer? s_heartbeat;
    private static ConnectionDeadline[] s_expired = new ConnectionDeadline[16];
    private static int s_ticking;

    private CancellationTokenSource _source = new();
    private long _deadline = Disarmed;
    // Position in s_armed while registered, -1 otherwise (written under s_lock).
    private int _slot = -1;

    private bool _disposed;

    // Registered with the heartbeat at the first Arm (a connection that never waits on anything never is).
    private void Register()
    {
        lock (s_lock)
        {
            if (_disposed || _slot >= 0) return;
            _slot = s_armed.Count;
            s_armed.Add(this);
            s_heartbeat ??= new Timer(static _ => Tick(), null, TickMs, TickMs);
        }
    }

    /// <summary>Cancelled when the armed deadline passes.</summary>
    public CancellationToken Token => _source.Token;

    /// <summary>Cancels <see cref="Token"/> once <paramref name="milliseconds"/> have passed from now (replacing any deadline armed before).</summary>
    public void Arm(int milliseconds)
    {
        if (_slot < 0) Register();
        if (Interlocked.Exchange(ref _deadline, Disarmed) == Expired || _source.IsCancellationRequested)
        {
            // The previous deadline passed (its source is being or was cancelled): a fresh one for what comes next.
            // The old one is dropped, not disposed: the heartbeat may be cancelling it right now.
            _source = new CancellationTokenSource();
        }
        Volatile.Write(ref _deadline, Environment.TickCount64 + milliseconds);
    }

    private static void Tick()
    {
        // Timer callbacks can overlap when one runs long; one tick at a time owns s_expired.
        if (Interlocked.Exchange(ref s_ticking, 1) != 0) return;
        try
        {
            CancelExpired(Environment.TickCount64);
        }
        finally
        {
            Volatile.Write(ref s_ticking, 0);
        }
    }

    private static void CancelExpired(long now)
    {
        int expired = 0;
        lock (s_lock)
        {
            foreach (ConnectionDeadline d in s_armed)
            {
                long deadline = Volatile.Read(ref d._deadline);
                if (deadline > now || deadline == Expired) continue;
                if (expired == s_expired.Length) Array.Resize(ref s_expired, expired * 2);
                s_expired[expired++] = d;
            }
        }
        // Cancelled outside the lock: a cancellation runs the connection's continuation inline.
        for (int i = 0; i < expired; i++)
        {
            ConnectionDeadline d = s_expired[i];
            s_expired[i] = null!;
            CancellationTokenSource source = d._source;
            long deadline = Volatile.Read(ref d._deadline);
            // Re-armed since the scan, or re-armed between reading the source and taking the deadline: not expired.
            if (deadline > now || Interlocked.CompareExchange(ref d._deadline, Expired, deadline) != deadline) continue;
            try
            {
                source.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // Replaced by Arm or disposed with the connection meanwhile.
            }
            catch (AggregateException e)
            {
                Hosting.Log.Error($"connection timeout callback failed: {(e.InnerException is { } inner ? FastMcp.Http.PlainError.Describe(inner) : "")}");
            }
        }
    }

    public void Dispose()
    {
        lock (s_lock)
        {
            _disposed = true;
            if (_slot >= 0)
            {
                // Swap-remove: the last one takes this slot.
                ConnectionDeadline last = s_armed[^1];
                s_armed[_slot] = last;
                last._slot = _slot;
                s_armed.RemoveAt(s_armed.Count - 1);
                _slot = -1;
            }
            // No connections: no heartbeat (an idle gateway does not wake every tick).
            if (s_armed.Count == 0 && s_heartbeat is not null)
            {
                s_heartbeat.Dispose();
                s_heartbeat = null;
            }
        }
        // The source is left to the collector, not disposed: the heartbeat may be cancelling it right now.
        Volatile.Write(ref _deadline, Disarmed);
    }
}
