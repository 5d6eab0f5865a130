namespace FastMcp.Gateway.Upstream;

/// <summary>
/// Tells the operator, once per upstream and reason, that the upstream sets cookies the gateway drops: an upstream
/// that needs them (cookie stickiness) fails in ways that are hard to trace back to a dropped field. Once, not per
/// answer: an upstream that sets a cookie on every answer would flood the log. The cookie's value is never logged.
/// </summary>
internal sealed class DroppedCookieWarning(string upstreamName)
{
    private int _warnedPlain, _warnedFederated;

    /// <summary>An answer of this upstream carried Set-Cookie (or Set-Cookie2) and the client did not get it.</summary>
    public void Report(bool federatedPath)
    {
        ref int warned = ref federatedPath ? ref _warnedFederated : ref _warnedPlain;
        if (Volatile.Read(ref warned) != 0 || Interlocked.Exchange(ref warned, 1) != 0) return;
        string field = upstreamName == Configuration.RouteValidation.DefaultUpstreamName ? "upstream.forwardCookies" : $"upstreams.{upstreamName}.forwardCookies";
        Hosting.Log.Warn(federatedPath
            ? $"upstream {upstreamName} set a cookie; dropped (a federated path passes no cookies, whatever {field} says)"
            : $"upstream {upstreamName} set a cookie; dropped ({field} is false)");
    }
}
