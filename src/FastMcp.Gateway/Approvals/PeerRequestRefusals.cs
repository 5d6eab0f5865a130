using FastMcp.Gateway.Hosting;

namespace FastMcp.Gateway.Approvals;

/// <summary>Why a request to the peer endpoints (/peer/v1/…) was refused with 401 before anything was read from it.</summary>
internal enum PeerRequestRefusal
{
    /// <summary>An instance, timestamp, nonce or signature field missing or malformed.</summary>
    Fields,
    /// <summary>A timestamp more than 60 s off this replica's clock.</summary>
    Clock,
    /// <summary>Not MACed under the peer key.</summary>
    Signature,
    /// <summary>A nonce already used.</summary>
    Replay,
}

/// <summary>
/// Refused peer requests, counted per reason (fastmcp_approval_peer_requests_refused_total). Anyone who reaches the admin
/// listener can send them, so the one that is logged (a request not signed with the peer key: a misconfigured replica, or
/// someone probing) is written at most once per <see cref="LogRateLimit.IntervalMs"/>, the next line saying how many
/// were held back.
/// </summary>
internal sealed class PeerRequestRefusals
{
    public const int Reasons = 4;

    private readonly long[] _counts = new long[Reasons];
    private readonly ThrottledWarning _unsignedLine = new(LogRateLimit.IntervalMs);

    /// <summary>Counts one; true when its line may be written now (only <see cref="PeerRequestRefusal.Signature"/> has one).</summary>
    public bool Count(PeerRequestRefusal reason, out int held)
    {
        Interlocked.Increment(ref _counts[(int)reason]);
        held = 0;
        return reason == PeerRequestRefusal.Signature && _unsignedLine.TryTake(out held);
    }

    public long Total(PeerRequestRefusal reason) => Volatile.Read(ref _counts[(int)reason]);

    /// <summary>The label of <c>fastmcp_approval_peer_requests_refused_total{reason}</c>.</summary>
    public static string Label(PeerRequestRefusal reason) => reason switch
    {
        PeerRequestRefusal.Fields => "fields",
        PeerRequestRefusal.Clock => "clock",
        PeerRequestRefusal.Signature => "signature",
        _ => "replay",
    };
}
