using System.Buffers;

namespace FastMcp.Identity;

/// <summary>
/// Extracts the token from an Authorization header value: "Bearer &lt;token68&gt;" (RFC 6750 §2.1) or, for a
/// DPoP-bound token, "DPoP &lt;token68&gt;" (RFC 9449 §7.1). Scheme names are case-insensitive.
/// </summary>
public static class BearerHeader
{
    /// <summary>Tokens longer than this are refused before any hashing or parsing.</summary>
    public const int MaxTokenBytes = 16 * 1024;

    private static readonly SearchValues<byte> Token68 =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/="u8);

    /// <summary>Returns <see cref="AuthFailure.None"/> and the token bytes of a Bearer header, or the reason the header is unusable.</summary>
    public static AuthFailure TryGetToken(ReadOnlySpan<byte> headerValue, out ReadOnlySpan<byte> token)
    {
        AuthFailure failure = TryGetToken(headerValue, out token, out bool dpop);
        if (failure == AuthFailure.None && dpop)
        {
            token = default;
            return AuthFailure.MissingToken; // a DPoP token is not a bearer token: whoever asks for one here gets none
        }
        return failure;
    }

    /// <summary>True when the header names the DPoP scheme, whether or not a usable token follows.</summary>
    public static bool UsesDpopScheme(ReadOnlySpan<byte> headerValue)
    {
        TryGetToken(headerValue, out _, out bool dpop);
        return dpop;
    }

    /// <summary>As <see cref="TryGetToken(ReadOnlySpan{byte}, out ReadOnlySpan{byte})"/>, also accepting the DPoP scheme
    /// (<paramref name="dpop"/> says which one the header used).</summary>
    public static AuthFailure TryGetToken(ReadOnlySpan<byte> headerValue, out ReadOnlySpan<byte> token, out bool dpop)
    {
        token = default;
        dpop = false;
        var value = headerValue.Trim(" \t"u8);
        if (value.IsEmpty)
            return AuthFailure.MissingToken;
        int schemeLength;
        if (value.Length >= 7 && System.Text.Ascii.EqualsIgnoreCase(value[..6], "Bearer"u8) && value[6] is (byte)' ' or (byte)'\t')
            schemeLength = 6;
        else if (value.Length >= 5 && System.Text.Ascii.EqualsIgnoreCase(value[..4], "DPoP"u8) && value[4] is (byte)' ' or (byte)'\t')
            (schemeLength, dpop) = (4, true);
        else
            return AuthFailure.MissingToken; // another scheme: to us the request carries no token
        var candidate = value[(schemeLength + 1)..].TrimStart(" \t"u8);
        if (candidate.IsEmpty || candidate.ContainsAnyExcept(Token68))
            return AuthFailure.MalformedHeader;
        if (candidate.Length > MaxTokenBytes)
            return AuthFailure.Malformed;
        token = candidate;
        return AuthFailure.None;
    }
}
