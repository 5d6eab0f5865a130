using System.Net.Http.Headers;
using System.Text;

namespace FastMcp.Identity;

/// <summary>
/// One client credentials token request (RFC 6749 §4.4): a form POST authenticated with the client secret, either in
/// HTTP Basic (client_secret_basic, §2.3.1 form-encodes id and secret first) or in the form (client_secret_post).
/// The secret goes into the request only: errors name the status and the endpoint's error code, never the secret.
/// </summary>
internal sealed class OAuthTokenRequest(OAuthClientCredentialsOptions options, HttpClient http)
{
    /// <summary>Asks for a token; the answer, or null with why it could not be had.</summary>
    public async Task<(OAuthTokenResponse? Token, string? Error)> SendAsync(string clientSecret, CancellationToken ct)
    {
        var form = new List<KeyValuePair<string, string>>(6) { new("grant_type", "client_credentials") };
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
            return (null, $"token endpoint {options.TokenUrl} did not answer within {options.TimeoutMs} ms");
        }
        catch (HttpRequestException e)
        {
            return (null, $"token endpoint {options.TokenUrl} cannot be reached: {e.Message}");
        }
        if (status != 200)
        {
            string? code = OAuthTokenResponse.ErrorCode(body);
            string hint = code == "invalid_client" ? " (the client id or secret is not accepted)" : "";
            return (null, $"token endpoint {options.TokenUrl} answered {status}{(code is null ? "" : " " + code)}{hint}");
        }
        if (!OAuthTokenResponse.TryParse(body, out OAuthTokenResponse token, out string error))
            return (null, $"token endpoint {options.TokenUrl}: {error}");
        return (token, null);
    }

    private static string FormEncode(string value) => Uri.EscapeDataString(value).Replace("%20", "+", StringComparison.Ordinal);
}
