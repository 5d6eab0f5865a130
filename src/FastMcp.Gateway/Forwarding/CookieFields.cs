namespace FastMcp.Gateway.Forwarding;

/// <summary>
/// The cookie fields, both generations (RFC 6265 and the obsolete RFC 2965, still parsed by some stacks). Cookies are
/// credentials the gateway does not hold: a client's could carry an upstream session that is not the verified caller's,
/// an upstream's would hand the client the gateway's own standing with the upstream. Unless the upstream's
/// forwardCookies says otherwise, neither passes the gateway.
/// </summary>
internal static class CookieFields
{
    /// <summary>Cookie or Cookie2, any letter case: what a client sends.</summary>
    public static bool IsRequestCookie(ReadOnlySpan<byte> name) =>
        name.Length is 6 or 7 && (name[0] | 0x20) == 'c'
        && System.Text.Ascii.EqualsIgnoreCase(name[..6], "Cookie"u8) && (name.Length == 6 || name[6] == '2');

    /// <summary>Set-Cookie or Set-Cookie2, any letter case: what an upstream answers with.</summary>
    public static bool IsSetCookie(ReadOnlySpan<byte> name) =>
        name.Length is 10 or 11 && (name[0] | 0x20) == 's'
        && System.Text.Ascii.EqualsIgnoreCase(name[..10], "Set-Cookie"u8) && (name.Length == 10 || name[10] == '2');
}
