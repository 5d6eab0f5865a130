using System.IO.Pipelines;
using FastMcp.Gateway.Stages;
using FastMcp.Http;
using FastMcp.Identity;

namespace FastMcp.Gateway.Proxy;

/// <summary>
/// Ends an event stream once the token that opened it would no longer be admitted (identity.streamsEndWithToken).
/// Per event, <see cref="Check"/> compares the clock with the token's stored expiry and its key snapshot by reference
/// (TokenLease), and asks the Authentication stage in force whether it still is the one that verified the token, so a
/// reloaded identity configuration is honoured; nothing is allocated. A quiet stream is woken by the connection's own
/// deadline (ConnectionDeadline's shared heartbeat) at the expiry: no timer per stream. One per connection, reused.
/// </summary>
internal sealed class StreamTokenWatch(GatewayRuntime runtime)
{
    private Authentication? _authentication;
    private TokenLease _lease;
    private long _notAfterTicks;
    private CancellationTokenRegistration _wake;
    private ConnectionDeadline? _deadline;
    private PipeReader? _upstream;
    private string _clientAddress = "";
    private string? _subject;

    /// <summary>
    /// The longest the stream sleeps between wakes, set before <see cref="Begin"/>: the policy watch's heartbeat when the
    /// policy has time conditions (StreamPolicyWatch.HeartbeatMs), so one deadline wakes the stream for both watches.
    /// </summary>
    public int MaxWakeMs { get; set; } = int.MaxValue / 2;

    /// <summary>True between <see cref="Begin"/> and <see cref="Stop"/>.</summary>
    public bool Watching { get; private set; }

    /// <summary>Why the stream ended, once <see cref="Check"/> found it must.</summary>
    public StreamEndReason Ended { get; private set; }

    /// <summary>
    /// True when a stream opened by <paramref name="request"/> ends with its token: a standalone GET stream, or any stream
    /// under "all". Anonymous mode has no token, so nothing to end with.
    /// </summary>
    public static bool Applies(GatewayRuntime runtime, HttpRequestHead request) =>
        runtime.Authentication is { IsAnonymous: false } a
        && (request.Method == FastMcp.Http.HttpMethod.Get || a.Options.StreamsEndWithToken == StreamsEndWithToken.All);

    /// <summary>
    /// Starts watching the stream <paramref name="request"/> opened; <paramref name="upstream"/>'s pending read is
    /// cancelled at the expiry so a stream with no event ends too (null: the caller waits on <see cref="ConnectionDeadline.Token"/> itself).
    /// A token whose verification the cache no longer holds (evicted meanwhile) cannot be watched: the stream ends at once.
    /// </summary>
    public void Begin(HttpRequestHead request, ConnectionDeadline deadline, PipeReader? upstream, string clientAddress, string? subject)
    {
        _clientAddress = clientAddress;
        _subject = subject;
        Ended = StreamEndReason.None;
        Watching = true;
        _authentication = runtime.Authentication;
        _deadline = deadline;
        _upstream = upstream;
        if (_authentication is null || !_authentication.TryLeaseStream(request, out _lease))
        {
            _lease = default;
            _notAfterTicks = 0; // long past: the stream ends at once
        }
        else
        {
            _notAfterTicks = _lease.NotAfterUtcTicks;
        }
        ArmWake();
    }

    /// <summary>The connection's deadline fires at the expiry (clamped to <see cref="MaxWakeMs"/>: a later one is armed again when it fires early).</summary>
    private void ArmWake()
    {
        _wake.Dispose();
        long ms = (_notAfterTicks - DateTime.UtcNow.Ticks) / TimeSpan.TicksPerMillisecond + 1;
        _deadline!.Arm((int)Math.Clamp(ms, 0, MaxWakeMs));
        if (_upstream is not null) _wake = _deadline.Token.UnsafeRegister(static s => ((PipeReader)s!).CancelPendingRead(), _upstream);
    }

    /// <summary>
    /// Why the stream must end now, or None. Cheap enough for every event: a time compare, a snapshot reference compare
    /// and two reference compares against the Authentication stage in force.
    /// </summary>
    public StreamEndReason Check()
    {
        if (!Watching || Ended != StreamEndReason.None) return Ended;
        if (DateTime.UtcNow.Ticks >= _notAfterTicks) return Ended = _lease.IsHeld ? StreamEndReason.TokenExpired : StreamEndReason.TokenUnverified;
        if (!_lease.KeyStillPublished) return Ended = StreamEndReason.SigningKeyRetired;
        if (!ReferenceEquals(runtime.Authentication, _authentication) || !_authentication!.Verified(in _lease)) return Ended = StreamEndReason.TokenUnverified;
        return StreamEndReason.None;
    }

    /// <summary>The deadline woke the stream: true when it must end; else (woken early, the expiry beyond the clamp) armed again.</summary>
    public bool WokenToEnd()
    {
        if (Check() != StreamEndReason.None) return true;
        ArmWake();
        return false;
    }

    /// <summary>Counts the end (before the client sees it: whoever reads the end and then /metrics finds it counted) and logs it.</summary>
    public void CountEnd()
    {
        if (Ended == StreamEndReason.None) return;
        Admin.GatewayCounters.Add(ref runtime.Counters.StreamsEnded[(int)Ended - 1]);
        // A client can open streams with tokens about to expire as often as it likes: one line per reason and interval.
        if (runtime.LogRateLimit.TryTake("stream ended", "", (int)Ended, out int held))
            Hosting.Log.Info($"client {_clientAddress}: event stream of '{_subject}' ended: {StreamEndReasons.Label(Ended)} (the client may reconnect with a fresh token)"
                + Hosting.LogRateLimit.Held(held));
    }

    /// <summary>
    /// The stream is over: the deadline no longer reaches its upstream. True when the wake may have cancelled a read of
    /// that upstream meanwhile (its pipe would hand the next exchange a cancelled read): the caller does not reuse it.
    /// </summary>
    public bool Stop()
    {
        if (!Watching) return false;
        Watching = false;
        // Dispose waits for a wake running now, so after it the deadline's state says whether one ran.
        _wake.Dispose();
        bool woke = _upstream is not null && _deadline!.Token.IsCancellationRequested;
        _wake = default;
        _upstream = null;
        _deadline = null;
        _authentication = null;
        _lease = default;
        return woke;
    }
}
