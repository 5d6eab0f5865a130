using System.Buffers;

namespace FastMcp.Identity;

/// <summary>Extracts the token from an Authorization header value ("Bearer &lt;token68&gt;", RFC 6750 §2.1).</summary>
public static class BearerHeader
{
    /// <summary>Tokens longer than this are refused before any hashing or parsing.</summary>
    public const int MaxTokenBytes = 16 * 1024;

    private static readonly SearchValues<byte> Token68 =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/="u8);

    /// <summary>Returns <see cref="AuthFailure.None"/> and the token bytes, or the reason the header is unusable.</summary>
    public static AuthFailure TryGetToken(ReadOnlySpan<byte> headerValue, out ReadOnlySpan<byte> token)
    {
        token = default;
        var value = headerValue.Trim(" \t"u8);
        if (value.IsEmpty)
            return AuthFailure.MissingToken;
        if (value.Length < 7 || !System.Text.Ascii.EqualsIgnoreCase(value[..6], "Bearer"u8) || value[6] is not ((byte)' ' or (byte)'\t'))
            return AuthFailure.MissingToken; // another scheme: to us the request carries no bearer token
        var candidate = value[7..].TrimStart(" \t"u8);
        if (candidate.IsEmpty || candidate.ContainsAnyExcept(Token68))
            return AuthFailure.MalformedHeader;
        if (candidate.Length > MaxTokenBytes)
            return AuthFailure.Malformed;
        token = candidate;
        return AuthFailure.None;
    }
}
