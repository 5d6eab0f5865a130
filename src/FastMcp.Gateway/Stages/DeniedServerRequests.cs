using System.Text;
using FastMcp.Mcp;

namespace FastMcp.Gateway.Stages;

/// <summary>
/// The server requests the policy denied (policy.serverRequests) that a client could still answer: the client never saw
/// them, but it may guess an id, and its answer must not reach the upstream (the gateway answered it already). Kept per
/// upstream and upstream session, by the request's JSON id. Bounded: past <see cref="MaxRemembered"/> the oldest is
/// forgotten (the upstream has had the gateway's answer to it; a second answer is the upstream's to refuse).
/// </summary>
internal sealed class DeniedServerRequests
{
    public const int MaxRemembered = 4096;

    private readonly Dictionary<string, List<byte[]>> _bySession = new(StringComparer.Ordinal);
    private readonly Queue<(string Session, byte[] Id)> _order = new();
    private readonly Lock _gate = new();
    private int _count;

    /// <summary>Read without the lock: a client's answer costs nothing while no request was ever denied.</summary>
    public bool IsEmpty => Volatile.Read(ref _count) == 0;

    public void Remember(string upstream, ReadOnlySpan<byte> session, ReadOnlySpan<byte> rawId)
    {
        string key = Key(upstream, session);
        byte[] id = rawId.ToArray();
        lock (_gate)
        {
            if (!_bySession.TryGetValue(key, out List<byte[]>? ids)) _bySession[key] = ids = [];
            ids.Add(id);
            _order.Enqueue((key, id));
            if (_order.Count > MaxRemembered)
            {
                (string oldSession, byte[] oldId) = _order.Dequeue();
                List<byte[]> old = _bySession[oldSession];
                old.Remove(oldId);
                if (old.Count == 0) _bySession.Remove(oldSession);
            }
            Volatile.Write(ref _count, _order.Count);
        }
    }

    /// <summary>True when <paramref name="rawId"/> names (as JSON-RPC peers compare ids) a denied request of this upstream session.</summary>
    public bool IsDenied(string upstream, ReadOnlySpan<byte> session, ReadOnlySpan<byte> rawId)
    {
        if (IsEmpty) return false;
        string key = Key(upstream, session);
        lock (_gate)
        {
            if (!_bySession.TryGetValue(key, out List<byte[]>? ids)) return false;
            // Compared as peers compare them: an escaped spelling of a denied string id is the same id.
            foreach (byte[] id in ids)
                if (McpBatch.SameId(id, rawId)) return true;
            return false;
        }
    }

    private static string Key(string upstream, ReadOnlySpan<byte> session) => string.Concat(upstream, "\n", Encoding.UTF8.GetString(session));
}
