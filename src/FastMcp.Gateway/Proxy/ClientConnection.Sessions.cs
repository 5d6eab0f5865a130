using FastMcp.Gateway.Hosting;
using FastMcp.Gateway.Sessions;
using FastMcp.Gateway.Upstream;
using FastMcp.Http;
using HttpMethod = FastMcp.Http.HttpMethod;

namespace FastMcp.Gateway.Proxy;

/// <summary>
/// Sessions of plain routes belong to the caller they were issued to (docs/mcp-handling.md, "Sessions"): the gateway
/// binds the Mcp-Session-Id an upstream issues to the caller's issuer and subject, and a request of anyone else naming
/// it (POST, GET, DELETE) is answered 404 as for an unknown session, never forwarded. Federated paths hold their own
/// sessions (Federation/FederationSessions.cs).
/// </summary>
internal sealed partial class ClientConnection
{
    /// <summary>
    /// False when the request names a session that is not the caller's here: another caller's, or (sessions.unknown
    /// "refuse") one this gateway did not see issued. With "forward" an unknown id is bound to its first caller. With
    /// sessions.sealed the id must be a sealed id that verifies for this caller and upstream (ClientConnection.SealedSessions.cs);
    /// from then on the exchange stands for the upstream's id it seals (<see cref="Exchange.UpstreamSessionId"/>).
    /// </summary>
    private bool SessionIsCallers(UpstreamRoute route)
    {
        if (!SealedSessionOpens(route)) return false;
        if (_rt.SessionBindings is not { } bindings) return true;
        ReadOnlySpan<byte> id = _exchange.UpstreamSessionId;
        if (id.IsEmpty) return true;
        SessionCheck check = bindings.Check(route.Name, id, _exchange.Principal!, out SessionOwner? owner);
        // With "forward" an unknown id is bound to its first caller; one who bound it meanwhile makes it foreign. A
        // verified sealed id is proven the caller's: bound to them here, whatever sessions.unknown says.
        if (check == SessionCheck.Unknown && (bindings.ForwardsUnknown || _exchange.SealedSession.Opened))
            check = bindings.BindIfUnbound(route.Name, id, _exchange.Principal!, out owner);
        switch (check)
        {
            case SessionCheck.Owned:
                return true;
            case SessionCheck.Foreign:
                Log.Debug($"client {RemoteAddress}: refused a session of upstream '{route.Name}' issued to another caller");
                _rt.SessionRefusals?.Count(SessionRefusal.Foreign, route.Name, _exchange.Principal!, RemoteAddress, owner, _request.Headers.Get(KnownHeader.McpSessionId));
                return false;
            default:
                _rt.SessionRefusals?.Count(SessionRefusal.Unknown, route.Name, _exchange.Principal!, RemoteAddress, null, _request.Headers.Get(KnownHeader.McpSessionId));
                return false;
        }
    }

    /// <summary>
    /// A session id the upstream issued in answer to a request that named none (initialize) is bound to the caller,
    /// before the answer reaches the client: the client cannot use it anywhere before it is bound.
    /// </summary>
    private void BindIssuedSession(UpstreamRoute route, HttpResponseHead response)
    {
        SealAnsweredSession(route, response);
        if (_rt.SessionBindings is not { } bindings || _exchange.Federation is not null) return;
        if (!_request.Headers.Get(KnownHeader.McpSessionId).IsEmpty) return;
        ReadOnlySpan<byte> issued = response.Headers.Get(KnownHeader.McpSessionId);
        if (!issued.IsEmpty) bindings.Bind(route.Name, issued, _exchange.Principal!);
    }

    /// <summary>
    /// After the owner's DELETE: a session the upstream ended (2xx) or does not know (404) is forgotten once its status is
    /// known, before the answer reaches the client: a request the client sends after reading it finds the id gone.
    /// </summary>
    private void ForgetEndedSession(UpstreamRoute route)
    {
        if (_rt.SessionBindings is not { } bindings || _request.Method != HttpMethod.Delete) return;
        ReadOnlySpan<byte> id = _exchange.UpstreamSessionId;
        int status = _exchange.Times.UpstreamStatus;
        if (!id.IsEmpty && (status is >= 200 and < 300 or 404)) bindings.Forget(route.Name, id);
    }
}
