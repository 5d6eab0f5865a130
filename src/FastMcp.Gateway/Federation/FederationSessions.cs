using System.Diagnostics;
using System.Security.Cryptography;
using FastMcp.Gateway.Sessions;

namespace FastMcp.Gateway.Federation;

/// <summary>
/// The sessions of one federated route: the id the gateway gave the client, who opened it, and each member's own
/// session id. Bounded as plain routes' session bindings are (Sessions/BoundedBindings.cs): one caller keeps at most
/// sessions.maxPerCaller (past it, its own least recently used is forgotten), the path at most maxSessions (past it,
/// the least recently used of a caller holding the most), so a caller initializing in a loop churns its own sessions,
/// not other callers'. A forgotten session's client gets 404 and initializes again, as MCP says a client must when its
/// session is gone, and its members' sessions are handed to <see cref="EndForgotten"/> to be ended there (a session its
/// client ended with DELETE never is). Opening past a bound scans one caller's own sessions under the lock, never the whole path.
/// With sessions.sealed a session is held under its sealed id (Federation/SealedFederatedSessions.cs), and one opened on
/// another replica or before a restart is rebuilt here from that id (<see cref="Rebuild"/>).
/// </summary>
internal sealed class FederationSessions(int maxSessions, int maxPerCaller, int members)
{
    private readonly int _members = members;
    private readonly Dictionary<string, FederationSession> _byId = new(StringComparer.Ordinal);
    private readonly BoundedBindings _byCaller = new(maxSessions, maxPerCaller);
    // Every change to _byId and _byCaller, and lookups in _byId (a Dictionary is not safe to read while it changes).
    private readonly Lock _gate = new();
    private long _evictedForCaller, _evictedForPath;

    public int Count => _byCaller.Count;

    /// <summary>Called (outside the lock) with each session forgotten past a bound, to end its members' sessions; null: none is ended.</summary>
    public Action<FederationSession>? EndForgotten { get; set; }

    /// <summary>Sessions forgotten because their caller opened more than sessions.maxPerCaller (that caller's own oldest).</summary>
    public long EvictedForCaller => Volatile.Read(ref _evictedForCaller);

    /// <summary>Sessions forgotten because the path held its maximum (from its heaviest holders).</summary>
    public long EvictedForPath => Volatile.Read(ref _evictedForPath);

    /// <summary>Sessions held for this caller.</summary>
    public int CountOf(string subject, string? issuer)
    {
        lock (_gate) return _byCaller.CountOf(subject, issuer);
    }

    public FederationSession Open(string subject, string? issuer)
    {
        Span<byte> random = stackalloc byte[16];
        RandomNumberGenerator.Fill(random);
        return Insert(Convert.ToHexStringLower(random), subject, issuer, replaced: null, held: false, states: null);
    }

    /// <summary>
    /// Sealed ids: the session <paramref name="draft"/> (opened for initialize under a random id no client was given) is
    /// held from now on under the sealed id of its members' sessions, in its place. A session held under that id already
    /// (the caller initialized again and got the same members' sessions) is replaced: it stood for the same sessions.
    /// </summary>
    public FederationSession Reissue(FederationSession draft, string sealedId)
    {
        var states = new MemberStates(draft.Initialized.Length);
        draft.Initialized.CopyTo(states.Initialized, 0);
        draft.MemberVersions.CopyTo(states.Versions, 0);
        draft.MemberSessions.CopyTo(states.Sessions, 0);
        return Insert(sealedId, draft.Owner.Subject, draft.Owner.Issuer, draft, held: false, states);
    }

    /// <summary>
    /// Sealed ids: a session this replica does not hold (opened on another replica, or before a restart), made from what
    /// its verified sealed id says of the members and bound to the caller it was sealed for, within the same bounds as any.
    /// When two requests rebuild it at once, the one held first is the session.
    /// </summary>
    public FederationSession Rebuild(string sealedId, string subject, string? issuer, MemberStates states) =>
        Insert(sealedId, subject, issuer, replaced: null, held: true, states);

    /// <param name="held">a session held under <paramref name="id"/> for this caller is kept (and returned); false: it is replaced</param>
    private FederationSession Insert(string id, string subject, string? issuer, FederationSession? replaced, bool held, MemberStates? states)
    {
        FederationSession session;
        FederationSession? forgottenForCaller = null, forgottenForPath = null;
        lock (_gate)
        {
            if (replaced is not null && _byId.TryGetValue(replaced.Id, out FederationSession? draft) && draft == replaced)
            {
                _byId.Remove(replaced.Id);
                _byCaller.Remove(replaced.Binding);
            }
            if (_byId.TryGetValue(id, out FederationSession? existing))
            {
                if (held && existing.Owner.Is(subject, issuer))
                {
                    existing.Touch();
                    return existing;
                }
                _byId.Remove(id);
                _byCaller.Remove(existing.Binding);
            }
            SessionBinding binding = _byCaller.Add(id, subject, issuer, out SessionBinding? evictedForCaller, out SessionBinding? evictedForPath);
            if (evictedForCaller is not null && _byId.Remove(evictedForCaller.Id, out forgottenForCaller)) Interlocked.Increment(ref _evictedForCaller);
            if (evictedForPath is not null && _byId.Remove(evictedForPath.Id, out forgottenForPath)) Interlocked.Increment(ref _evictedForPath);
            session = new FederationSession(binding, _members) { Rebuilt = held };
            if (states is { } m)
            {
                m.Initialized.CopyTo(session.Initialized, 0);
                m.Versions.CopyTo(session.MemberVersions, 0);
                m.Sessions.CopyTo(session.MemberSessions, 0);
            }
            _byId.Add(id, session);
        }
        if (EndForgotten is { } end)
        {
            if (forgottenForCaller is not null) end(forgottenForCaller);
            if (forgottenForPath is not null) end(forgottenForPath);
        }
        return session;
    }

    /// <summary>
    /// The session with this id opened by this caller, which counts as used now; null when unknown or another caller's
    /// (never shared): then <paramref name="foreignOwner"/> is the caller it belongs to, if any, so the refusal can be
    /// accounted for.
    /// </summary>
    public FederationSession? Find(string id, string subject, string? issuer, out SessionOwner? foreignOwner)
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

    /// <summary>Forgets a session that ended or failed to open; false when it was forgotten already (evicted, ended).</summary>
    public bool Remove(FederationSession session)
    {
        lock (_gate)
        {
            if (!_byId.TryGetValue(session.Id, out FederationSession? held) || held != session) return false;
            _byId.Remove(session.Id);
            _byCaller.Remove(session.Binding);
            return true;
        }
    }
}

/// <summary>One client's federated session: the members' session ids and which member listed which resource.</summary>
internal sealed class FederationSession(SessionBinding binding, int members)
{
    private readonly Dictionary<string, int> _resourceOwners = new(StringComparer.Ordinal);
    private readonly List<(string Prefix, int Member)> _templateOwners = [];

    // Resource owners remembered per session are bounded too: a member listing more is still served, later ones unrouted.
    private const int MaxRemembered = 10_000;

    /// <summary>Its place among its caller's sessions (FederationSessions' bounds); its LastUsed orders eviction.</summary>
    public SessionBinding Binding { get; } = binding;

    public string Id => Binding.Id;
    public SessionOwner Owner => Binding.Caller.Owner;

    /// <summary>Each member's Mcp-Session-Id (null: it gave none, or it was left out because it failed to initialize).</summary>
    public string?[] MemberSessions { get; } = new string?[members];

    /// <summary>The protocol version each member agreed to in its initialize answer (sent to it as MCP-Protocol-Version).</summary>
    public string?[] MemberVersions { get; } = new string?[members];

    /// <summary>Members that answered initialize: only those are asked for lists and sent calls.</summary>
    public bool[] Initialized { get; } = new bool[members];

    /// <summary>Server-to-client requests relayed to this session's client and not yet answered.</summary>
    public ServerRequestIds ServerRequests { get; } = new();

    /// <summary>
    /// Made on this replica from a sealed id (FederationSessions.Rebuild): it knows the members' sessions but not which
    /// member listed which resource, until it asks them (ClientConnection.FederationSealed.cs).
    /// </summary>
    public bool Rebuilt { get; init; }

    /// <summary>Set by the one request that asks a rebuilt session's members for their resource lists (once per session).</summary>
    public int ResourceOwnersAsked;

    public void Touch() => Volatile.Write(ref Binding.LastUsed, Stopwatch.GetTimestamp());

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
