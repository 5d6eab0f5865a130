using System.Text;
using FastMcp.Http;

namespace FastMcp.Gateway.Configuration;

/// <summary>
/// Checks an upstream's forwardHeaders entry by entry. A name the gateway would never pass is refused rather than
/// silently ignored: an operator who listed Authorization expects it to reach the upstream, and it never will.
/// Patterns ("X-*", "*") may cover such fields; the fields that stop at the gateway still stop there.
/// </summary>
internal static class ForwardHeadersValidation
{
    /// <param name="field">"upstream" or "upstreams.NAME".</param>
    /// <param name="credentialHeaderName">The field the gateway injects this upstream's credential under; null without one.</param>
    public static void Validate(UpstreamOptions u, string field, string? credentialHeaderName)
    {
        if (u.ForwardHeaders is null) throw new ConfigurationException($"{field}.forwardHeaders", "must be a list of header field names");
        for (int i = 0; i < u.ForwardHeaders.Count; i++)
        {
            string at = $"{field}.forwardHeaders[{i}]";
            string? pattern = u.ForwardHeaders[i];
            if (pattern == "*") continue;
            string name = pattern is not null && pattern.EndsWith('*') ? pattern[..^1] : pattern ?? "";
            if (name.Contains('*'))
                throw new ConfigurationException(at, "a '*' may only be trailing (a prefix: \"X-MCP-*\") or stand alone (\"*\")");
            if (!IsToken(name))
                throw new ConfigurationException(at, "must be a header field name (letters, digits and !#$%&'+-.^_`|~), a prefix ending in '*', or \"*\"");
            if (name.Length == pattern!.Length && WhyNever(name, credentialHeaderName) is { } why) throw new ConfigurationException(at, $"'{name}' {why}");
        }
    }

    /// <summary>Why a client's field of this exact name never reaches an upstream; null when it can.</summary>
    private static string? WhyNever(string name, string? credentialHeaderName)
    {
        byte[] bytes = Encoding.ASCII.GetBytes(name);
        if (credentialHeaderName is not null && string.Equals(name, credentialHeaderName, StringComparison.OrdinalIgnoreCase))
            return "is the header field of this upstream's credential: only the gateway states it, a client's copy is dropped";
        KnownHeader kind = KnownHeaders.Classify(bytes);
        if (KnownHeaders.IsHopByHop(kind))
            return "is a hop-by-hop field: it describes the client's connection to the gateway and is never passed on";
        if (kind == KnownHeader.Authorization)
            return "is never passed upstream: the gateway verifies the caller's token and injects the upstream's own credential";
        if (kind == KnownHeader.Dpop || name.Equals("DPoP-Nonce", StringComparison.OrdinalIgnoreCase))
            return "is never passed upstream: it proves the caller's DPoP key to the gateway, which verifies it with the token";
        if (Forwarding.CookieFields.IsRequestCookie(bytes))
            return "is a cookie field: cookies pass only with forwardCookies: true on this upstream";
        if (kind is KnownHeader.Host or KnownHeader.ContentLength or KnownHeader.Expect or KnownHeader.XForwardedFor or KnownHeader.XForwardedProto
                or KnownHeader.XForwardedHost or KnownHeader.Forwarded
            || name.Equals("Accept-Encoding", StringComparison.OrdinalIgnoreCase) || name.Equals("traceparent", StringComparison.OrdinalIgnoreCase)
            || Ascii.EqualsIgnoreCase(bytes, Upstream.Stdio.BridgeSecret.HeaderName)
            || Forwarding.UpstreamRequestWriter.ClaimsOriginOrTarget(bytes))
            return "is written or dropped by the gateway itself (docs/configuration.md, \"Header fields that stop at the gateway\"); a client's copy is never passed on";
        return null;
    }

    private static bool IsToken(string s)
    {
        if (s.Length == 0) return false;
        foreach (char c in s)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '!' or '#' or '$' or '%' or '&' or '\'' or '+' or '-' or '.' or '^' or '_' or '`' or '|' or '~')) return false;
        }
        return true;
    }
}
