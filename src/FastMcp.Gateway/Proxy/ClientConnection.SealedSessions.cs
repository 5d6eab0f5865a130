using FastMcp.Gateway.Hosting;
using FastMcp.Gateway.Sessions;
using FastMcp.Gateway.Upstream;
using FastMcp.Http;

namespace FastMcp.Gateway.Proxy;

/// <summary>
/// Sealed session ids on plain routes (sessions.sealed; Sessions/IdSeal.cs): the client holds the upstream's id
/// sealed for it, so any replica, and this one after a restart, can tell whose session an id is without shared state.
/// Federated paths seal their own gateway-made ids in another format (ClientConnection.FederationSealed.cs).
/// </summary>
internal sealed partial class ClientConnection
{
    /// <summary>
    /// With sealing on, a request naming a session must name a sealed id that verifies for this caller and this route's
    /// upstream; then the exchange stands for the upstream's id. False: anything else (unsealed, malformed, another
    /// caller's or upstream's, forged), refused as an unknown session, never forwarded.
    /// </summary>
    private bool SealedSessionOpens(UpstreamRoute route)
    {
        if (_rt.SessionSeal is not { } seal) return true;
        SealedSessionLines lines = _exchange.SealedSession;
        lines.Seals = true;
        ReadOnlySpan<byte> presented = _request.Headers.Get(KnownHeader.McpSessionId);
        if (presented.IsEmpty || lines.TryOpen(seal, presented, _exchange.Principal!, route.Name)) return true;
        Log.Debug($"client {RemoteAddress}: refused a session id of upstream '{route.Name}' not sealed for this caller");
        _rt.SessionRefusals?.Count(SessionRefusal.Unknown, route.Name, _exchange.Principal!, RemoteAddress, null, presented);
        return false;
    }

    /// <summary>
    /// The Mcp-Session-Id of an upstream's answer on a sealed plain route, sealed for the caller before the head is
    /// written (Forwarding/ResponseRelay.cs writes the sealed line in its place).
    /// </summary>
    private void SealAnsweredSession(UpstreamRoute route, HttpResponseHead response)
    {
        if (_rt.SessionSeal is not { } seal || _exchange.Federation is not null) return;
        ReadOnlySpan<byte> issued = response.Headers.Get(KnownHeader.McpSessionId);
        if (!issued.IsEmpty) _exchange.SealedSession.SealAnswered(seal, issued, _exchange.Principal!, route.Name);
    }
}
