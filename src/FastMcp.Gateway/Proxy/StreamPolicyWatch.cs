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
/// by reference; only after a reload does it decide again, so nothing is allocated. One per connection, reused.
/// </summary>
internal sealed class StreamPolicyWatch(GatewayRuntime runtime)
{
    // The upstreams the stream comes from: one on a plain path, the merged members on a federated one (reused, so no
    // stream after the first that merges as many allocates).
    private readonly List<string?> _upstreams = new(1);
    private PolicyEngine? _decidedUnder;
    private Principal? _principal;
    private HttpRequestHead? _request;
    private IPAddress? _address;
    private string _clientAddress = "";

    /// <summary>True between <see cref="Begin"/> and <see cref="Stop"/>.</summary>
    public bool Watching { get; private set; }

    /// <summary><see cref="StreamEndReason.PolicyRevoked"/> once <see cref="Check"/> found the stream must end.</summary>
    public StreamEndReason Ended { get; private set; }

    /// <summary>
    /// Starts watching the stream <paramref name="request"/> opened, allowed under <paramref name="decidedUnder"/>; its
    /// upstreams are added with <see cref="Add"/>. The request head stays the connection's own while the stream is relayed.
    /// </summary>
    public void Begin(PolicyEngine decidedUnder, Principal principal, HttpRequestHead request, IPAddress? address, string clientAddress)
    {
        _decidedUnder = decidedUnder;
        _principal = principal;
        _request = request;
        _address = address;
        _clientAddress = clientAddress;
        _upstreams.Clear();
        Ended = StreamEndReason.None;
        Watching = true;
    }

    /// <summary>An upstream the stream comes from (the route's name: what rules with "upstreams" compare).</summary>
    public void Add(string? upstream) => _upstreams.Add(upstream);

    /// <summary>
    /// Why the stream must end now, or None. While the policy in force is the one last decided under, a reference compare;
    /// after a reload, the caller's initialize decided again on every upstream of the stream (a refusal on one ends it:
    /// the client reconnects and the new GET is decided member by member).
    /// </summary>
    public StreamEndReason Check()
    {
        if (!Watching || Ended != StreamEndReason.None) return Ended;
        // A gateway without a policy stage decides nothing, and never begins a watch.
        PolicyEngine now = runtime.Authorization!.Engine;
        if (ReferenceEquals(now, _decidedUnder)) return StreamEndReason.None;
        foreach (string? upstream in _upstreams)
        {
            if (PolicyAuthorization.DecideSessionRequest(now, _principal!, upstream, _request!.Query, _address).Action != PolicyAction.Allow)
                return Ended = StreamEndReason.PolicyRevoked;
        }
        _decidedUnder = now;
        return StreamEndReason.None;
    }

    /// <summary>Counts the end (before the client sees it, as the token watch does) and logs it.</summary>
    public void CountEnd()
    {
        if (Ended == StreamEndReason.None) return;
        Admin.GatewayCounters.Add(ref runtime.Counters.StreamsEnded[(int)Ended - 1]);
        Hosting.Log.Info($"client {_clientAddress}: event stream of '{_principal?.Subject}' ended: {StreamEndReasons.Label(Ended)} (the policy in force no longer allows this caller the session)");
    }

    /// <summary>The stream is over: nothing of it is held.</summary>
    public void Stop()
    {
        Watching = false;
        _decidedUnder = null;
        _principal = null;
        _request = null;
        _address = null;
        _upstreams.Clear();
    }
}
