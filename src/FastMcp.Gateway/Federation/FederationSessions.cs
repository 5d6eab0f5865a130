using System.Security.Cryptography;

namespace FastMcp.Gateway.Federation;

/// <summary>
/// The sessions of one federated route: the id the gateway gave the client, who opened it, and each member's own
/// session id. Bounded: past the maximum, the session used least recently is forgotten (its client gets 404 and
/// initializes again, as MCP says a client must when its session is gone).
/// </summary>
internal sealed class FederationSessions(int maxSessions, int members)
{
    private readonly Dictionary<string, FederationSession> _byId = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    public int Count
    {
        get { lock (_gate) return _byId.Count; }
    }

    public FederationSession Open(string subject, string? issuer)
    {
        var session = new FederationSession(Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)), subject, issuer, members);
        lock (_gate)
        {
            if (_byId.Count >= maxSessions) EvictLeastRecentlyUsed();
            _byId.Add(session.Id, session);
        }
        return session;
    }

    /// <summary>
    /// The session with this id opened by this caller; null when unknown or another caller's (never shared): then
    /// <paramref name="foreignOwner"/> is the caller it belongs to, if any, so the refusal can be accounted for.
    /// </summary>
    public FederationSession? Find(string id, string subject, string? issuer, out Sessions.SessionOwner? foreignOwner)
    {
        foreignOwner = null;
        lock (_gate)
        {
            if (!_byId.TryGetValue(id, out FederationSession? s)) return null;
            if (!s.Owner.Is(subject, issuer))
            {
                foreignOwner = s.Owner;
                return null;
            }
            s.Touch();
            return s;
        }
    }

    public bool Remove(FederationSession session)
    {
        lock (_gate) return _byId.Remove(session.Id);
    }

    private void EvictLeastRecentlyUsed()
    {
        FederationSession? oldest = null;
        foreach (FederationSession s in _byId.Values)
        {
            if (oldest is null || s.LastUsed < oldest.LastUsed) oldest = s;
        }
        if (oldest is not null) _byId.Remove(oldest.Id);
    }
}

/// <summary>One client's federated session: the members' session ids and which member listed which resource.</summary>
internal sealed class FederationSession(string id, string subject, string? issuer, int members)
{
    private readonly Dictionary<string, int> _resourceOwners = new(StringComparer.Ordinal);
    private readonly List<(string Prefix, int Member)> _templateOwners = [];
    private long _lastUsed = Environment.TickCount64;

    // Resource owners remembered per session are bounded too: a member listing more is still served, later ones unrouted.
    private const int MaxRemembered = 10_000;

    public string Id { get; } = id;
    public Sessions.SessionOwner Owner { get; } = new(subject, issuer);
    public long LastUsed => Volatile.Read(ref _lastUsed);

    /// <summary>Each member's Mcp-Session-Id (null: it gave none, or it was left out because it failed to initialize).</summary>
    public string?[] MemberSessions { get; } = new string?[members];

    /// <summary>The protocol version each member agreed to in its initialize answer (sent to it as MCP-Protocol-Version).</summary>
    public string?[] MemberVersions { get; } = new string?[members];

    /// <summary>Members that answered initialize: only those are asked for lists and sent calls.</summary>
    public bool[] Initialized { get; } = new bool[members];

    /// <summary>Server-to-client requests relayed to this session's client and not yet answered.</summary>
    public ServerRequestIds ServerRequests { get; } = new();

    public void Touch() => Volatile.Write(ref _lastUsed, Environment.TickCount64);

    public void RememberResource(string uri, int member)
    {
        lock (_resourceOwners)
        {
            if (_resourceOwners.Count < MaxRemembered) _resourceOwners.TryAdd(uri, member);
        }
    }

    /// <summary>Remembers a URI template by its literal start (up to the first expression): reads of URIs it can expand to go to its member.</summary>
    public void RememberTemplate(string template, int member)
    {
        int brace = template.IndexOf('{');
        string prefix = brace < 0 ? template : template[..brace];
        lock (_resourceOwners)
        {
            if (_templateOwners.Count < MaxRemembered) _templateOwners.Add((prefix, member));
        }
    }

    /// <summary>
    /// The member that listed <paramref name="uri"/>, or whose template's literal start it begins with when exactly one
    /// member's does; -1 when none or several could own it (refused: never guessed).
    /// </summary>
    public int OwnerOf(string uri)
    {
        lock (_resourceOwners)
        {
            if (_resourceOwners.TryGetValue(uri, out int member)) return member;
            int found = -1;
            foreach ((string prefix, int m) in _templateOwners)
            {
                if (prefix.Length == 0 || !uri.StartsWith(prefix, StringComparison.Ordinal)) continue;
                if (found >= 0 && found != m) return -1;
                found = m;
            }
            return found;
        }
    }
}
