using System.Text.Json;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Identity;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests;

/// <summary>
/// What a client learns of sender-constrained tokens from the real gateway, asserted on the wire: the RFC 9728 metadata
/// (dpop_signing_alg_values_supported, dpop_bound_access_tokens_required) and the WWW-Authenticate fields of each
/// refusal, in the scheme the request used (RFC 9449 §7.1), with the other scheme offered where the client has to
/// choose or switch (§7.2).
/// </summary>
public sealed class DpopChallengeTests : DpopGatewayTest
{
    private const string Metadata = "resource_metadata=\"http://127.0.0.1/.well-known/oauth-protected-resource/mcp\"";
    private const string AllAlgs = "algs=\"RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512\"";

    private static async Task<RawResponse> SendAsync(PolicyGateway gw, string headerLines)
    {
        using RawClient client = await gw.Gateway.ConnectAsync();
        await client.SendAsync(gw.Gateway.Post(ToolCall, headerLines));
        return await client.ReadResponseAsync();
    }

    private static async Task<JsonElement> MetadataAsync(PolicyGateway gw)
    {
        using RawClient client = await gw.Gateway.ConnectAsync();
        await client.SendAsync($"GET /.well-known/oauth-protected-resource/mcp HTTP/1.1\r\nHost: {gw.Gateway.Authority}\r\n\r\n");
        RawResponse response = await client.ReadResponseAsync();
        Assert.Equal(200, response.Status);
        using JsonDocument doc = JsonDocument.Parse(response.Body);
        return doc.RootElement.Clone();
    }

    private static void AssertChallenges(RawResponse response, int status, params string[] challenges)
    {
        Assert.Equal(status, response.Status);
        Assert.Equal(challenges, response.Head.GetAll("WWW-Authenticate"));
    }

    [Fact]
    public async Task The_metadata_names_the_dpop_proof_algorithms_and_requires_no_binding_by_default()
    {
        JsonElement metadata = await MetadataAsync(Gw);
        Assert.Equal(IdentityOptions.DefaultAlgorithms, metadata.GetProperty("dpop_signing_alg_values_supported").EnumerateArray().Select(a => a.GetString()));
        Assert.False(metadata.TryGetProperty("dpop_bound_access_tokens_required", out _));
        // Plain HTTP: no client certificate can bind a token here.
        Assert.False(metadata.TryGetProperty("tls_client_certificate_bound_access_tokens", out _));
    }

    [Fact]
    public async Task Without_a_token_both_schemes_are_offered_bearer_first()
    {
        AssertChallenges(await SendAsync(Gw, ""), 401, $"Bearer {Metadata}", $"DPoP {AllAlgs}, {Metadata}");
        // Another scheme is no token either.
        AssertChallenges(await SendAsync(Gw, "Authorization: Basic YTpi\r\n"), 401, $"Bearer {Metadata}", $"DPoP {AllAlgs}, {Metadata}");
    }

    [Fact]
    public async Task A_dpop_bound_token_sent_as_bearer_is_refused_in_the_bearer_scheme_and_told_to_use_dpop()
    {
        string token = Tokens.DpopBound("alice", ClientKey);
        AssertChallenges(await SendAsync(Gw, $"Authorization: Bearer {token}\r\n"), 401,
            $"Bearer error=\"invalid_token\", error_description=\"Authorization scheme does not match the token's binding\", {Metadata}",
            $"DPoP {AllAlgs}, {Metadata}");
    }

    [Fact]
    public async Task A_token_bound_to_no_dpop_key_sent_as_dpop_is_refused_in_the_dpop_scheme_and_told_to_use_bearer()
    {
        string plain = Gw.Token("alice");
        AssertChallenges(await SendAsync(Gw, $"Authorization: DPoP {plain}\r\nDPoP: {ClientKey.Proof("POST", Htu, plain)}\r\n"), 401,
            $"DPoP error=\"invalid_token\", error_description=\"Authorization scheme does not match the token's binding\", {AllAlgs}, {Metadata}",
            $"Bearer {Metadata}");
    }

    [Fact]
    public async Task A_refused_proof_gets_the_invalid_dpop_proof_challenge_alone()
    {
        string token = Tokens.DpopBound("alice", ClientKey);
        AssertChallenges(await SendAsync(Gw, $"Authorization: DPoP {token}\r\nDPoP: {ClientKey.Proof("GET", Htu, token)}\r\n"), 401,
            $"DPoP error=\"invalid_dpop_proof\", error_description=\"DPoP proof is missing or invalid\", {AllAlgs}, {Metadata}");
    }

    [Fact]
    public async Task A_token_refused_for_itself_is_answered_in_the_scheme_it_came_with()
    {
        string token = Tokens.DpopBound("alice", ClientKey);
        string forged = token[..^4] + (token[^4] == 'A' ? "B" : "A") + token[^3..];
        AssertChallenges(await SendAsync(Gw, $"Authorization: DPoP {forged}\r\nDPoP: {ClientKey.Proof("POST", Htu, forged)}\r\n"), 401,
            $"DPoP error=\"invalid_token\", error_description=\"token signature is invalid\", {AllAlgs}, {Metadata}");
        string plain = Gw.Token("alice");
        string forgedPlain = plain[..^4] + (plain[^4] == 'A' ? "B" : "A") + plain[^3..];
        AssertChallenges(await SendAsync(Gw, $"Authorization: Bearer {forgedPlain}\r\n"), 401,
            $"Bearer error=\"invalid_token\", error_description=\"token signature is invalid\", {Metadata}");
        // A DPoP header whose token is not token68 is a malformed request, in the DPoP scheme.
        AssertChallenges(await SendAsync(Gw, "Authorization: DPoP a,b\r\n"), 400,
            $"DPoP error=\"invalid_request\", error_description=\"Authorization header is not 'Bearer <token>' or 'DPoP <token>'\", {AllAlgs}, {Metadata}");
        Assert.Empty(Gw.Upstream.Requests);
    }

    [Fact]
    public async Task With_dpop_required_only_dpop_bound_tokens_are_admitted_and_only_the_dpop_scheme_is_offered()
    {
        await using var gw = await PolicyGateway.StartAsync(UpstreamScripts.Echo, [new RuleOptions { Name = "all", Action = "allow" }], o =>
        {
            o.Identity!.Dpop = new DpopOptions { Required = true };
            o.Identity.AllowedAlgorithms = ["ES256", "PS256"];
        });
        using var tokens = new BoundTokens(gw.DevKeyDirectory);
        JsonElement metadata = await MetadataAsync(gw);
        Assert.True(metadata.GetProperty("dpop_bound_access_tokens_required").GetBoolean());
        Assert.Equal(["ES256", "PS256"], metadata.GetProperty("dpop_signing_alg_values_supported").EnumerateArray().Select(a => a.GetString()));

        const string algs = "algs=\"ES256 PS256\"";
        AssertChallenges(await SendAsync(gw, ""), 401, $"DPoP {algs}, {Metadata}");
        const string dpopOnly = "error=\"invalid_token\", error_description=\"this resource accepts only DPoP-bound access tokens (cnf.jkt)\"";
        string plain = gw.Token("alice");
        AssertChallenges(await SendAsync(gw, $"Authorization: Bearer {plain}\r\n"), 401, $"DPoP {dpopOnly}, {algs}, {Metadata}");
        // Cached now (verified, then refused): still refused, and so with the DPoP scheme and a proof.
        AssertChallenges(await SendAsync(gw, $"Authorization: Bearer {plain}\r\n"), 401, $"DPoP {dpopOnly}, {algs}, {Metadata}");
        AssertChallenges(await SendAsync(gw, $"Authorization: DPoP {plain}\r\nDPoP: {ClientKey.Proof("POST", Htu, plain)}\r\n"), 401, $"DPoP {dpopOnly}, {algs}, {Metadata}");
        // A token bound to a client certificate alone is not DPoP-bound either.
        string certificateBound = tokens.CertificateBound("alice", System.Security.Cryptography.SHA256.HashData("a certificate"u8));
        AssertChallenges(await SendAsync(gw, $"Authorization: Bearer {certificateBound}\r\n"), 401, $"DPoP {dpopOnly}, {algs}, {Metadata}");
        Assert.Empty(gw.Upstream.Requests);

        string token = tokens.DpopBound("alice", ClientKey);
        Assert.Equal(200, (await SendAsync(gw, $"Authorization: DPoP {token}\r\nDPoP: {ClientKey.Proof("POST", Htu, token)}\r\n")).Status);
        string metrics = await AdminGet.TextAsync(gw.Gateway.AdminEndpoint, "/metrics");
        Assert.Contains("fastmcp_auth_failures_total{reason=\"DpopRequired\"} 4\n", metrics);
    }
}
