namespace FastMcp.Gateway.Approvals;

/// <summary>
/// The nonces of the peer requests a replica took within the last two clock-skew windows: a captured request replayed
/// while its timestamp is still accepted is refused (it could otherwise count an execution twice). Bounded: when full of
/// nonces still live it refuses new requests rather than forget one (fail closed; peers then open local approvals).
/// </summary>
internal sealed class PeerNonceCache(int capacity = 100_000)
{
    private readonly Dictionary<string, long> _seen = new(StringComparer.Ordinal);
    private readonly object _gate = new();

    /// <summary>True the first time <paramref name="nonce"/> is offered within <paramref name="keepSeconds"/>; false for a replay.</summary>
    public bool TryTake(string nonce, long nowSeconds, long keepSeconds)
    {
        lock (_gate)
        {
            if (_seen.Count >= capacity) Prune(nowSeconds - keepSeconds);
            if (_seen.Count >= capacity) return false;
            return _seen.TryAdd(nonce, nowSeconds);
        }
    }

    private void Prune(long before)
    {
        List<string>? old = null;
        foreach ((string nonce, long at) in _seen)
            if (at < before) (old ??= []).Add(nonce);
        if (old is null) return;
        foreach (string nonce in old) _seen.Remove(nonce);
    }
}
