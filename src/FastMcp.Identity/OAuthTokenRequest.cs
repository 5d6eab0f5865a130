using System.Net.Http.Headers;
using System.Text;

namespace FastMcp.Identity;

/// <summary>
/// One token request: client credentials (RFC 6749 §4.4), or a token exchange (RFC 8693 §2.1) with the grant's own fields.
/// A form POST authenticated with the client secret, either in HTTP Basic (client_secret_basic, §2.3.1 form-encodes id
/// and secret first) or in the form (client_secret_post). The secret and the subject token go into the request only:
/// errors name the status and the endpoint's error code, never either of them.
/// </summary>
internal sealed class OAuthTokenRequest(OAuthClientCredentialsOptions options, HttpClient http)
{
    /// <summary>Asks for a token with the client credentials grant; the answer, or null with why it could not be had.</summary>
    public async Task<(OAuthTokenResponse? Token, string? Error)> SendAsync(string clientSecret, CancellationToken ct)
    {
        OAuthTokenAnswer answer = await SendAsync(clientSecret, [new("grant_type", "client_credentials")], null, ct).ConfigureAwait(false);
        return (answer.Token, answer.Error);
    }

    /// <summary>
    /// Sends <paramref name="grant"/> (grant_type and the grant's fields) with the configured scope, resource, audience and
    /// client authentication. <paramref name="requiredIssuedType"/>: a token exchange's requested type, which the answer
    /// must state as issued_token_type.
    /// </summary>
    public async Task<OAuthTokenAnswer> SendAsync(string clientSecret, List<KeyValuePair<string, string>> grant, string? requiredIssuedType, CancellationToken ct)
    {
        var form = grant;
        if (options.Scope is { } scope) form.Add(new("scope", scope));
        if (options.Resource is { } resource) form.Add(new("resource", resource));
        if (options.Audience is { } audience) form.Add(new("audience", audience));
        bool basic = options.ClientAuthentication == OAuthClientCredentialsOptions.ClientSecretBasic;
        if (!basic)
        {
            form.Add(new("client_id", options.ClientId!));
            form.Add(new("client_secret", clientSecret));
        }
        using var request = new HttpRequestMessage(HttpMethod.Post, options.TokenUrl) { Content = new FormUrlEncodedContent(form) };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        if (basic)
        {
            string pair = FormEncode(options.ClientId!) + ":" + FormEncode(clientSecret);
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(pair)));
        }
        byte[] body;
        int status;
        try
        {
            using HttpResponseMessage response = await http.SendAsync(request, ct).ConfigureAwait(false);
            status = (int)response.StatusCode;
            body = await response.Content.ReadAsByteArrayAsync(ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return new(null, $"token endpoint {options.TokenUrl} did not answer within {options.TimeoutMs} ms", 0, null);
        }
        catch (HttpRequestException e)
        {
            return new(null, $"token endpoint {options.TokenUrl} cannot be reached: {FastMcp.Http.PlainError.Describe(e)}", 0, null);
        }
        if (status != 200)
        {
            string? code = OAuthTokenResponse.ErrorCode(body);
            string hint = code == "invalid_client" ? " (the client id or secret is not accepted)" : "";
            return new(null, $"token endpoint {options.TokenUrl} answered {status}{(code is null ? "" : " " + code)}{hint}", status, code);
        }
        if (!OAuthTokenResponse.TryParse(body, requiredIssuedType, out OAuthTokenResponse token, out string error))
            return new(null, $"token endpoint {options.TokenUrl}: {error}", status, null);
        return new(token, null, status, null);
    }

    private static string FormEncode(string value) => Uri.EscapeDataString(value).Replace("%20", "+", StringComparison.Ordinal);
}

/// <summary>What one token request came to: a token, or why not (the endpoint's status, 0 when it gave none, and its error code).</summary>
internal readonly record struct OAuthTokenAnswer(OAuthTokenResponse? Token, string? Error, int Status, string? ErrorCode);
