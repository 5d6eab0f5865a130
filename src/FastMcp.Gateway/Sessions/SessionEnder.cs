using FastMcp.Gateway.Federation;
using FastMcp.Gateway.Upstream;
using FastMcp.Http;

namespace FastMcp.Gateway.Sessions;

/// <summary>
/// Ends at the upstreams the sessions the gateway forgot because of a bound (sessions.maxPerCaller, maxPerUpstream, a
/// federated path's): nobody can use them through the gateway any more, and left open they are load the upstream keeps
/// until its own idle timeout, if it has one. A session its owner ended (DELETE) never comes here. One queue and worker
/// per upstream (Sessions/UpstreamSessionEnds.cs); nothing here waits for an upstream.
/// </summary>
internal sealed class SessionEnder : IAsyncDisposable
{
    private readonly UpstreamSessionEnds[] _upstreams;
    private readonly CancellationTokenSource _stop = new();

    /// <param name="upstreams">every upstream once (RouteTable.Upstreams), in the order /metrics lists them</param>
    public SessionEnder(IReadOnlyList<UpstreamRoute> upstreams, HttpLimits limits, byte[] publicScheme)
    {
        _upstreams = new UpstreamSessionEnds[upstreams.Count];
        for (int i = 0; i < _upstreams.Length; i++) _upstreams[i] = new UpstreamSessionEnds(upstreams[i], limits, publicScheme, _stop.Token);
    }

    /// <summary>How many ends had <paramref name="result"/> at the upstream named <paramref name="upstream"/> (0 for a name not here).</summary>
    public long Count(string upstream, SessionEndResult result) => Find(upstream)?.Count(result) ?? 0;

    /// <summary>A plain route's binding was forgotten: its id is the upstream's session id. Its protocol version is not known there.</summary>
    public void End(string upstream, string sessionId) => Find(upstream)?.Enqueue(new PendingSessionEnd(sessionId, null));

    /// <summary>A federated session was forgotten: each member's own session is ended, with the version that member agreed to.</summary>
    public void EndMembers(UpstreamRoute[] members, FederationSession session)
    {
        for (int i = 0; i < members.Length; i++)
        {
            if (session.MemberSessions[i] is { } id) Find(members[i].Name)?.Enqueue(new PendingSessionEnd(id, session.MemberVersions[i]));
        }
    }

    // A handful of upstreams: a scan by name, nothing allocated.
    private UpstreamSessionEnds? Find(string upstream)
    {
        foreach (UpstreamSessionEnds u in _upstreams)
        {
            if (string.Equals(u.Upstream, upstream, StringComparison.Ordinal)) return u;
        }
        return null;
    }

    /// <summary>Stops the workers (an end in flight is abandoned, queued ones are not sent): before the upstreams' pools close.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        foreach (UpstreamSessionEnds u in _upstreams) await u.Worker.ConfigureAwait(false);
        _stop.Dispose();
    }
}
