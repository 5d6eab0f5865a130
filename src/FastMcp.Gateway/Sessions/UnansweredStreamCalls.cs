using System.Text;
using FastMcp.Identity;

namespace FastMcp.Gateway.Sessions;

/// <summary>
/// Calls whose POST event stream ended before their answer reached the client, after the upstream gave that stream an event
/// id (so the client can resume it: GET with Last-Event-ID): the request ids they carried, per upstream, caller and session.
/// An answer on a resumed GET stream is relayed only when it answers one of them, and takes it out (one answer per call).
/// Why by call and not by event id: the client resumes from the last event id it got, which may be any the gateway relayed
/// before the connection dropped; what the client matches an answer by is its id. Bounded: a caller's session keeps its
/// <see cref="MaxPerSession"/> latest such calls, the table <see cref="MaxSessions"/> sessions (the least recently used is
/// forgotten), and an id longer than <see cref="MaxIdBytes"/> is not kept: an answer to a call forgotten is withheld (fail
/// closed). Only ended streams add (not every request), so the lock is taken rarely.
/// </summary>
internal sealed class UnansweredStreamCalls(int maxSessions = UnansweredStreamCalls.DefaultMaxSessions)
{
    public const int DefaultMaxSessions = 4096;
    public const int MaxPerSession = 16;
    public const int MaxIdBytes = 128;

    private sealed class SessionCalls
    {
        public readonly Queue<byte[]> Ids = new();
        public long LastUsed;
    }

    private readonly Dictionary<string, SessionCalls> _bySession = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private long _clock;

    public int MaxSessions { get; } = maxSessions;

    /// <summary>Sessions holding at least one unanswered call.</summary>
    public int Count
    {
        get { lock (_gate) return _bySession.Count; }
    }

    /// <summary>Keeps <paramref name="id"/> (the request's raw JSON id) as a call of the caller's session whose stream ended unanswered.</summary>
    public void Add(string upstream, Principal? caller, ReadOnlySpan<byte> session, ReadOnlySpan<byte> id)
    {
        if (id.IsEmpty || id.Length > MaxIdBytes) return;
        string key = Key(upstream, caller, session);
        lock (_gate)
        {
            if (!_bySession.TryGetValue(key, out SessionCalls? calls))
            {
                if (_bySession.Count >= MaxSessions) ForgetLeastRecentlyUsed();
                calls = new SessionCalls();
                _bySession[key] = calls;
            }
            calls.LastUsed = ++_clock;
            foreach (byte[] held in calls.Ids)
            {
                if (held.AsSpan().SequenceEqual(id)) return;
            }
            if (calls.Ids.Count >= MaxPerSession) calls.Ids.Dequeue();
            calls.Ids.Enqueue(id.ToArray());
        }
    }

    /// <summary>True (and the call is taken out) when <paramref name="id"/> is, byte for byte, an unanswered call of the caller's session.</summary>
    public bool TryTake(string upstream, Principal? caller, ReadOnlySpan<byte> session, ReadOnlySpan<byte> id)
    {
        string key = Key(upstream, caller, session);
        lock (_gate)
        {
            if (!_bySession.TryGetValue(key, out SessionCalls? calls)) return false;
            int n = calls.Ids.Count;
            bool found = false;
            // Rotates the queue once, dropping the match: the order of the others stays as it was.
            for (int i = 0; i < n; i++)
            {
                byte[] held = calls.Ids.Dequeue();
                if (!found && held.AsSpan().SequenceEqual(id)) found = true;
                else calls.Ids.Enqueue(held);
            }
            if (calls.Ids.Count == 0) _bySession.Remove(key);
            else calls.LastUsed = ++_clock;
            return found;
        }
    }

    private void ForgetLeastRecentlyUsed()
    {
        string? oldest = null;
        long at = long.MaxValue;
        foreach (KeyValuePair<string, SessionCalls> entry in _bySession)
        {
            if (entry.Value.LastUsed >= at) continue;
            at = entry.Value.LastUsed;
            oldest = entry.Key;
        }
        if (oldest is not null) _bySession.Remove(oldest);
    }

    // Each part length-prefixed, so no two (upstream, issuer, subject, session) meet as one key; Latin-1 maps every byte of
    // the session id to one char.
    private static string Key(string upstream, Principal? caller, ReadOnlySpan<byte> session)
    {
        string issuer = caller?.Issuer ?? "", subject = caller?.Subject ?? "";
        return $"{upstream.Length}:{upstream}{issuer.Length}:{issuer}{subject.Length}:{subject}{Encoding.Latin1.GetString(session)}";
    }
}
