using System.IO.Pipelines;
using System.Net;
using FastMcp.Gateway.Stages;
using FastMcp.Http;
using FastMcp.Identity;
using FastMcp.Policy;

namespace FastMcp.Gateway.Proxy;

/// <summary>
/// Ends a GET event stream at its next event once a reloaded policy no longer lets its caller initialize on the stream's
/// upstream (on a federated path: on any member whose stream is merged into it), as the GET itself was decided
/// (PolicyAuthorization.DecideSessionRequest). Per event it compares the engine in force with the one last decided under
/// by reference; only after a reload does it decide again. A policy with time conditions can refuse later what it allowed
/// at the GET without any reload: then the decision is taken again at every event, and a quiet stream is woken every
/// <see cref="HeartbeatMs"/> by the connection's own deadline (no timer per stream) to take it. Each upstream's events are
/// masked for the client with the profile of the rule that allowed the stream on it (<see cref="Masking"/>): a decision
/// taken again picks it again, so a reload that allows the caller by another rule masks the following events with that
/// rule's profile. Nothing is allocated. One per connection, reused.
/// A tasks request's stream (a tasks/result answered as events, <see cref="BeginTask"/>) is watched the same way, but what
/// is decided again is the call that created the task, as a new request on the task would be (Tasks/TaskRedecision.cs):
/// refused, the stream ends with that refusal as the request's answer (<see cref="TaskRefusal"/>).
/// </summary>
internal sealed class StreamPolicyWatch(GatewayRuntime runtime)
{
    // The upstreams the stream comes from: one on a plain path, the merged members on a federated one (reused, so no
    // stream after the first that merges as many allocates).
    private readonly List<string?> _upstreams = new(1);
    // Beside each upstream: the masking its events get (the allowing rule's profile, else the default; null: masking off).
    private readonly List<PanMasking?> _maskings = new(1);
    // On a plain path, the exchange whose masking follows the decision (the relay masks with Exchange.Masking).
    private Exchange? _exchange;
    private PolicyEngine? _decidedUnder;
    private Principal? _principal;
    private HttpRequestHead? _request;
    private IPAddress? _address;
    private string _clientAddress = "";
    private CancellationTokenRegistration _wake;
    private ConnectionDeadline? _deadline;
    private PipeReader? _upstream;
    // A tasks request's stream: the task whose creating call is decided again (null: a GET stream).
    private Tasks.TaskBinding? _task;
    private Approvals.ApprovalBroker? _approvals;

    /// <summary>How often a quiet stream under a policy with time conditions is decided again (a window closes at most this late).</summary>
    public const int HeartbeatMs = 1_000;

    /// <summary>True between <see cref="Begin"/> and <see cref="Stop"/>.</summary>
    public bool Watching { get; private set; }

    /// <summary>
    /// <see cref="StreamEndReason.PolicyRevoked"/> (after a reload) or <see cref="StreamEndReason.PolicyWindowClosed"/>
    /// (a time condition, no reload) once <see cref="Check"/> found the stream must end.
    /// </summary>
    public StreamEndReason Ended { get; private set; }

    /// <summary>
    /// Set with <see cref="StreamEndReason.TaskCallNotAllowed"/>: why the call that created the task is no longer allowed
    /// (TaskRedecision's reason), for the refusal the client gets in place of the rest of the stream.
    /// </summary>
    public string? TaskRefusal { get; private set; }

    /// <summary>The policy the stream was allowed under has time conditions: a quiet stream needs waking (<see cref="Wake"/>).</summary>
    public bool NeedsHeartbeat => Watching && _decidedUnder is { ReadsClock: true };

    /// <summary>
    /// Starts watching the stream <paramref name="request"/> opened, allowed under <paramref name="decidedUnder"/>; its
    /// upstreams are added with <see cref="Add"/>. The request head stays the connection's own while the stream is relayed.
    /// <paramref name="exchange"/> (a plain path's): its <see cref="Exchange.Masking"/> is set again whenever the stream is
    /// decided again; a federated path reads <see cref="Masking"/> per member instead.
    /// </summary>
    public void Begin(PolicyEngine decidedUnder, Principal principal, HttpRequestHead request, IPAddress? address, string clientAddress, Exchange? exchange = null)
    {
        _exchange = exchange;
        _maskings.Clear();
        _decidedUnder = decidedUnder;
        _principal = principal;
        _request = request;
        _address = address;
        _clientAddress = clientAddress;
        _upstreams.Clear();
        _task = null;
        TaskRefusal = null;
        Ended = StreamEndReason.None;
        Watching = true;
    }

    /// <summary>
    /// Starts watching the stream answering a request on <paramref name="task"/>, admitted under <paramref name="decidedUnder"/>
    /// (TaskRedecision.Admit) on <paramref name="upstream"/>; <paramref name="exchange"/>'s masking follows the creating
    /// call's rule when it is decided again. <paramref name="approvals"/>: this replica's (null: none).
    /// </summary>
    public void BeginTask(PolicyEngine decidedUnder, Tasks.TaskBinding task, Principal principal, string upstream, HttpRequestHead request, IPAddress? address,
        string clientAddress, Exchange exchange, Approvals.ApprovalBroker? approvals)
    {
        Begin(decidedUnder, principal, request, address, clientAddress, exchange);
        _upstreams.Add(upstream);
        _maskings.Add(exchange.Masking);
        _task = task;
        _approvals = approvals;
    }

    /// <summary>
    /// An upstream the stream comes from (the route's name: what rules with "upstreams" compare), and the masking its events
    /// get as the GET was decided on it.
    /// </summary>
    public void Add(string? upstream, PanMasking? masking)
    {
        _upstreams.Add(upstream);
        _maskings.Add(masking);
    }

    /// <summary>The masking the events of the <paramref name="index"/>th upstream added get now (null: masking is off).</summary>
    public PanMasking? Masking(int index) => _maskings[index];

    /// <summary>
    /// Wakes the quiet stream every <see cref="HeartbeatMs"/> through <paramref name="deadline"/>, cancelling
    /// <paramref name="upstream"/>'s pending read (null: the caller waits on <see cref="ConnectionDeadline.Token"/> itself).
    /// Only when no token watch wakes the stream (that one is clamped to the heartbeat instead: one deadline per connection).
    /// </summary>
    public void Wake(ConnectionDeadline deadline, PipeReader? upstream)
    {
        _deadline = deadline;
        _upstream = upstream;
        ArmWake();
    }

    private void ArmWake()
    {
        _wake.Dispose();
        _deadline!.Arm(HeartbeatMs);
        if (_upstream is not null) _wake = _deadline.Token.UnsafeRegister(static s => ((PipeReader)s!).CancelPendingRead(), _upstream);
    }

    /// <summary>
    /// Why the stream must end now, or None. While the policy in force is the one last decided under and has no time
    /// condition, a reference compare. Otherwise the caller's initialize is decided again on every upstream of the stream
    /// (a refusal on one ends it: the client reconnects and the new GET is decided member by member), and each upstream's
    /// masking is picked again from the allowing rule. A rule whose profile the masking in force lacks ends the stream too
    /// (revoked: its events must not be masked with anything else).
    /// </summary>
    public StreamEndReason Check()
    {
        if (!Watching || Ended != StreamEndReason.None) return Ended;
        // A gateway without a policy stage decides nothing, and never begins a watch.
        PolicyEngine now = runtime.Authorization!.Engine;
        bool reloaded = !ReferenceEquals(now, _decidedUnder);
        if (_task is not null) return CheckTask(now, reloaded);
        if (!reloaded && !now.ReadsClock) return StreamEndReason.None;
        PanMasking? masking = runtime.Masking;
        for (int i = 0; i < _upstreams.Count; i++)
        {
            PolicyDecision decision = PolicyAuthorization.DecideSessionRequest(now, _principal!, _upstreams[i], _request!.Query, _address);
            if (decision.Action != PolicyAction.Allow)
                return Ended = reloaded ? StreamEndReason.PolicyRevoked : StreamEndReason.PolicyWindowClosed;
            if (!PanMasking.TryPick(masking, decision.MaskProfile, out PanMasking? picked)) return Ended = StreamEndReason.PolicyRevoked;
            _maskings[i] = picked;
        }
        if (_exchange is not null) _exchange.Masking = _maskings[0];
        _decidedUnder = now;
        return StreamEndReason.None;
    }

    /// <summary>
    /// A tasks request's stream: a grant revoked here ends it at once (a field read per event); after a reload, or at every
    /// event under a policy with time conditions, the creating call is decided again exactly as for a new request on the
    /// task, and its rule's masking profile masks the following events. An approval another replica holds is not asked
    /// after again mid-stream (it was when the stream's request was admitted; a round trip per event is too costly): the
    /// task's next request asks.
    /// </summary>
    private StreamEndReason CheckTask(PolicyEngine now, bool reloaded)
    {
        Tasks.TaskBinding task = _task!;
        if (!reloaded && !now.ReadsClock && task.Call?.Approval is not { State: Approvals.ApprovalState.Revoked }) return StreamEndReason.None;
        string? refusal = Tasks.TaskRedecision.Admit(task, now, _principal!, _upstreams[0]!, _request!.Query, _address, _approvals, out string? profile, out _);
        if (refusal is null && profile is not null && runtime.Masking is { } masking)
        {
            if (masking.Profile(profile) is { } picked) _exchange!.Masking = picked;
            else refusal = $"the masking profile '{profile}' the task was created under is not configured any more";
        }
        if (refusal is not null)
        {
            TaskRefusal = refusal;
            return Ended = StreamEndReason.TaskCallNotAllowed;
        }
        _decidedUnder = now;
        return StreamEndReason.None;
    }

    /// <summary>The stream was woken: true when it must end; else, when this watch wakes it, the next heartbeat is armed.</summary>
    public bool WokenToEnd()
    {
        if (Check() != StreamEndReason.None) return true;
        if (_deadline is not null) ArmWake();
        return false;
    }

    /// <summary>Counts the end (before the client sees it, as the token watch does) and logs it.</summary>
    public void CountEnd()
    {
        if (Ended == StreamEndReason.None) return;
        Admin.GatewayCounters.Add(ref runtime.Counters.StreamsEnded[(int)Ended - 1]);
        if (!runtime.LogRateLimit.TryTake("stream ended", "", (int)Ended, out int held)) return;
        string why = Ended == StreamEndReason.TaskCallNotAllowed ? TaskRefusal!
            : Ended == StreamEndReason.PolicyWindowClosed ? "a time condition of the policy no longer allows this caller the session"
            : "the policy in force no longer allows this caller the session";
        Hosting.Log.Info($"client {_clientAddress}: event stream of '{_principal?.Subject}' ended: {StreamEndReasons.Label(Ended)} ({why})" + Hosting.LogRateLimit.Held(held));
    }

    /// <summary>
    /// The stream is over: nothing of it is held. True when this watch's wake may have cancelled a read of its upstream
    /// meanwhile (its pipe would hand the next exchange a cancelled read): the caller does not reuse it.
    /// </summary>
    public bool Stop()
    {
        // Dispose waits for a wake running now, so after it the deadline's state says whether one ran.
        _wake.Dispose();
        bool woke = Watching && _upstream is not null && _deadline!.Token.IsCancellationRequested;
        _wake = default;
        _deadline = null;
        _upstream = null;
        Watching = false;
        _decidedUnder = null;
        _principal = null;
        _request = null;
        _address = null;
        _exchange = null;
        _task = null;
        _approvals = null;
        TaskRefusal = null;
        _upstreams.Clear();
        _maskings.Clear();
        return woke;
    }
}
