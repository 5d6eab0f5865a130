using System.Text.Json;

namespace FastMcp.Identity;

/// <summary>
/// A token endpoint's successful answer (RFC 6749 §5.1) as far as the gateway uses it: a Bearer access token and how long
/// it lives. Read with a forward-only reader (no reflection: Native AOT), anything else in it ignored.
/// </summary>
internal readonly record struct OAuthTokenResponse(string AccessToken, int? ExpiresInSeconds)
{
    /// <summary>Parses <paramref name="json"/>; false with the reason when it is not a usable Bearer token answer.</summary>
    public static bool TryParse(ReadOnlySpan<byte> json, out OAuthTokenResponse response, out string error) => TryParse(json, null, out response, out error);

    /// <summary>
    /// As above; with <paramref name="requiredIssuedType"/> (a token exchange, RFC 8693 §2.2.1) the answer must state that
    /// issued_token_type, and when it is the jwt type a token_type of N_A (not an OAuth access token) is taken too: the
    /// upstream verifies the JWT itself, and the gateway sends it with the configured scheme either way.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> json, string? requiredIssuedType, out OAuthTokenResponse response, out string error)
    {
        response = default;
        string? token = null, type = null, issuedType = null;
        int? expiresIn = null;
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 16 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                error = "the token endpoint's answer is not a JSON object";
                return false;
            }
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("access_token"u8))
                {
                    reader.Read();
                    token = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                }
                else if (reader.ValueTextEquals("token_type"u8))
                {
                    reader.Read();
                    type = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                }
                else if (reader.ValueTextEquals("issued_token_type"u8))
                {
                    reader.Read();
                    issuedType = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                }
                else if (reader.ValueTextEquals("expires_in"u8))
                {
                    reader.Read();
                    // RFC 6749 says a number; some servers send it as a string of digits.
                    if (reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out int n)) expiresIn = n;
                    else if (reader.TokenType == JsonTokenType.String && int.TryParse(reader.GetString(), System.Globalization.NumberStyles.None,
                        System.Globalization.CultureInfo.InvariantCulture, out int s)) expiresIn = s;
                    else
                    {
                        error = "the token endpoint's answer has an expires_in that is not a whole number of seconds";
                        return false;
                    }
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }
        }
        catch (JsonException)
        {
            error = "the token endpoint's answer is not valid JSON";
            return false;
        }
        if (string.IsNullOrEmpty(token))
        {
            error = "the token endpoint's answer has no access_token";
            return false;
        }
        if (requiredIssuedType is not null && issuedType != requiredIssuedType)
        {
            error = issuedType is null ? "the token endpoint's answer has no issued_token_type"
                : $"the token endpoint's answer has issued_token_type '{Printable(issuedType)}', not the requested {requiredIssuedType}";
            return false;
        }
        bool notAccessToken = requiredIssuedType == TokenExchangeOptions.JwtTokenType && type == "N_A";
        if (!notAccessToken && !string.Equals(type, "Bearer", StringComparison.OrdinalIgnoreCase))
        {
            error = $"the token endpoint's answer has token_type '{Printable(type)}', not Bearer";
            return false;
        }
        if (expiresIn is <= 0)
        {
            error = "the token endpoint's answer has an expires_in that is not positive";
            return false;
        }
        response = new OAuthTokenResponse(token, expiresIn);
        error = "";
        return true;
    }

    /// <summary>The error code of an RFC 6749 §5.2 error answer (invalid_client, …), or null when there is none to read.</summary>
    public static string? ErrorCode(ReadOnlySpan<byte> json)
    {
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 16 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return null;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                bool isError = reader.ValueTextEquals("error"u8);
                reader.Read();
                if (isError && reader.TokenType == JsonTokenType.String) return Printable(reader.GetString());
                reader.Skip();
            }
        }
        catch (JsonException)
        {
        }
        return null;
    }

    // The code goes into a log line: no control characters, and short.
    private static string? Printable(string? code)
    {
        if (code is null) return null;
        if (code.Length > 64) code = code[..64];
        foreach (char c in code)
            if (c < 0x20 || c > 0x7e) return "(unprintable)";
        return code;
    }
}
