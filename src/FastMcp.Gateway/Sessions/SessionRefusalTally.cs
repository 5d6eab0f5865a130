using System.Buffers.Binary;
using System.Security.Cryptography;
using FastMcp.Identity;

namespace FastMcp.Gateway.Sessions;

/// <summary>Why a request naming a session was refused (the label of fastmcp_session_refusals_total).</summary>
internal enum SessionRefusal : byte
{
    /// <summary>The session is bound to another caller: a hijack attempt, or a leaked id.</summary>
    Foreign,
    /// <summary>The id is bound to no one here (sessions.unknown "refuse"): guessed, stale, or issued elsewhere.</summary>
    Unknown,
}

/// <summary>What one caller had refused on one upstream for one reason during an interval.</summary>
/// <param name="Upstream">the upstream's configured name</param>
/// <param name="Subject">null: the refusals of callers displaced from the tally before they were recorded, summed.</param>
internal sealed record SessionRefusalSummary(
    SessionRefusal Reason, string? Upstream, string? Subject, string? Issuer, string? ClientAddress, long Refused,
    string? Owner, bool SeveralOwners, ulong Fingerprint, bool SeveralIds);

/// <summary>
/// Counts requests refused for naming a session not the caller's: in total per reason (for /metrics), and per caller,
/// upstream and reason in a fixed table (4-way set-associative, like the rate limiters' buckets) for one aggregate audit
/// record each per interval, so that a flood of refusals costs neither a record per request nor memory per caller.
/// Counting allocates nothing. The session id itself is never kept: it is a bearer for the session, so only a keyed
/// fingerprint of it is (the first of the interval, and whether later ones differed).
/// </summary>
internal sealed class SessionRefusalTally
{
    private const int Ways = 4;

    /// <summary>Caller/upstream/reason entries tracked per interval; refusals of those displaced are still counted.</summary>
    public const int Capacity = 4096;

    private struct Entry
    {
        public string? Upstream;
        public string? Subject;
        public string? Issuer;
        public SessionRefusal Reason;
        public long Refused;
        public long LastCounted;
        public string? ClientAddress;
        public SessionOwner? Owner;
        public bool SeveralOwners;
        public ulong Fingerprint;
        public bool SeveralIds;
    }

    private readonly Entry[] _entries = new Entry[Capacity];
    private readonly Lock[] _locks = new Lock[Capacity / Ways];
    private readonly long[] _total = new long[2];
    private readonly long[] _displaced = new long[2];
    private readonly byte[] _fingerprintKey;
    private long _clock;

    /// <param name="fingerprintKey">HMAC-SHA-256 key of the session id fingerprints (derived from the card fingerprint key, or random per process).</param>
    public SessionRefusalTally(byte[] fingerprintKey)
    {
        _fingerprintKey = fingerprintKey;
        for (int i = 0; i < _locks.Length; i++) _locks[i] = new Lock();
    }

    /// <summary>
    /// The key of session id fingerprints: derived from <paramref name="cardFingerprintKey"/> under a label of its own (so a
    /// session fingerprint never equals a card fingerprint, and replicas sharing the key agree on fingerprints), or random.
    /// </summary>
    public static byte[] FingerprintKey(byte[]? cardFingerprintKey) => cardFingerprintKey is { Length: > 0 }
        ? HMACSHA256.HashData(cardFingerprintKey, "fastmcp session id fingerprint"u8)
        : RandomNumberGenerator.GetBytes(32);

    /// <summary>Requests refused for <paramref name="reason"/> since start.</summary>
    public long Total(SessionRefusal reason) => Volatile.Read(ref _total[(int)reason]);

    /// <summary>The first 8 bytes of HMAC-SHA-256(key, id), as the record gives them (16 lowercase hex digits).</summary>
    public ulong Fingerprint(ReadOnlySpan<byte> id)
    {
        Span<byte> mac = stackalloc byte[32];
        HMACSHA256.HashData(_fingerprintKey, id, mac);
        return BinaryPrimitives.ReadUInt64BigEndian(mac);
    }

    /// <summary>Counts one refusal of <paramref name="caller"/> naming <paramref name="id"/> on <paramref name="upstream"/>.</summary>
    /// <param name="owner">the session's owner, for <see cref="SessionRefusal.Foreign"/></param>
    public void Count(SessionRefusal reason, string upstream, Principal caller, string clientAddress, SessionOwner? owner, ReadOnlySpan<byte> id)
    {
        Interlocked.Increment(ref _total[(int)reason]);
        ulong fingerprint = Fingerprint(id);
        // string hashes are randomized per process: no caller can aim its refusals at another's set.
        int set = HashCode.Combine(upstream, caller.Subject, caller.Issuer, reason) & (_locks.Length - 1);
        lock (_locks[set])
        {
            ref Entry e = ref Find(set, reason, upstream, caller);
            e.LastCounted = Interlocked.Increment(ref _clock);
            if (e.Refused++ == 0)
            {
                e.ClientAddress = clientAddress;
                e.Owner = owner;
                e.Fingerprint = fingerprint;
                return;
            }
            if (e.Fingerprint != fingerprint) e.SeveralIds = true;
            if (owner is not null && e.Owner is not null && !owner.Is(e.Owner.Subject, e.Owner.Issuer)) e.SeveralOwners = true;
        }
    }

    private ref Entry Find(int set, SessionRefusal reason, string upstream, Principal caller)
    {
        int first = set * Ways;
        int victim = -1;
        for (int i = first; i < first + Ways; i++)
        {
            ref Entry e = ref _entries[i];
            if (e.Upstream is null)
            {
                if (victim < 0 || _entries[victim].Upstream is not null) victim = i;
                continue;
            }
            if (string.Equals(e.Upstream, upstream, StringComparison.Ordinal) && e.Reason == reason && string.Equals(e.Subject, caller.Subject, StringComparison.Ordinal)
                && string.Equals(e.Issuer, caller.Issuer, StringComparison.Ordinal)) return ref e;
            if (victim < 0 || (_entries[victim].Upstream is not null && e.LastCounted < _entries[victim].LastCounted)) victim = i;
        }
        // A full set gives up its least recently counted entry; what it counted is summed without a caller.
        ref Entry v = ref _entries[victim];
        if (v.Upstream is not null) Interlocked.Add(ref _displaced[(int)v.Reason], v.Refused);
        v = default;
        v.Upstream = upstream;
        v.Subject = caller.Subject;
        v.Issuer = caller.Issuer;
        v.Reason = reason;
        return ref v;
    }

    /// <summary>Takes what was refused since the last call: one summary per caller, upstream and reason, and per reason one for displaced callers.</summary>
    public List<SessionRefusalSummary> Drain()
    {
        var drained = new List<SessionRefusalSummary>();
        for (int set = 0; set < _locks.Length; set++)
        {
            lock (_locks[set])
            {
                for (int i = set * Ways; i < (set + 1) * Ways; i++)
                {
                    ref Entry e = ref _entries[i];
                    if (e.Upstream is null) continue;
                    drained.Add(new SessionRefusalSummary(e.Reason, e.Upstream, e.Subject, e.Issuer, e.ClientAddress, e.Refused,
                        e.Owner?.Subject, e.SeveralOwners, e.Fingerprint, e.SeveralIds));
                    e = default;
                }
            }
        }
        for (int reason = 0; reason < _displaced.Length; reason++)
        {
            long displaced = Interlocked.Exchange(ref _displaced[reason], 0);
            if (displaced > 0) drained.Add(new SessionRefusalSummary((SessionRefusal)reason, null, null, null, null, displaced, null, false, 0, false));
        }
        return drained;
    }
}
