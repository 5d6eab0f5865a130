using FastMcp.Gateway.Tests.Support;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests;

/// <summary>
/// RFC 9449 DPoP-bound access tokens through the real gateway: a token whose cnf.jkt binds it to a client key is
/// admitted only with the DPoP scheme and one valid proof by that key for this very request, on every request
/// (the verified-token cache included), and any other cnf the gateway cannot verify is refused. Tokens are minted
/// with the gateway's dev issuer key; proofs are made here with an ECDSA P-256 key.
/// </summary>
public sealed class DpopBoundTokenTests : DpopGatewayTest
{
    private async Task<RawResponse> SendAsync(string headerLines, string json = "")
    {
        using RawClient client = await Gw.Gateway.ConnectAsync();
        await client.SendAsync(Gw.Gateway.Post(json.Length == 0 ? ToolCall : json, headerLines));
        return await client.ReadResponseAsync();
    }

    private static void AssertProofRefused(RawResponse response)
    {
        Assert.Equal(401, response.Status);
        Assert.StartsWith("DPoP error=\"invalid_dpop_proof\"", response.Header("WWW-Authenticate"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_valid_proof_admits_the_token_and_neither_the_token_nor_the_proof_reaches_the_upstream()
    {
        string token = Tokens.DpopBound("alice", ClientKey);
        RawResponse response = await SendAsync($"Authorization: DPoP {token}\r\nDPoP: {ClientKey.Proof("POST", Htu, token)}\r\n");
        Assert.Equal(200, response.Status);
        UpstreamRequest seen = Gw.Upstream.SingleRequest();
        Assert.Null(seen.Header("Authorization"));
        Assert.Null(seen.Header("DPoP"));
        // The scheme is case-insensitive; the proof's htu may spell the scheme, host and default port differently.
        Assert.Equal(200, (await SendAsync($"Authorization: dpop {token}\r\nDPoP: {ClientKey.Proof("POST", "HTTP://127.0.0.1:80/mcp", token)}\r\n")).Status);
    }

    [Fact]
    public async Task A_proof_is_accepted_once_and_its_replay_is_refused_even_with_the_token_cached()
    {
        string token = Tokens.DpopBound("alice", ClientKey);
        string proof = ClientKey.Proof("POST", Htu, token);
        Assert.Equal(200, (await SendAsync($"Authorization: DPoP {token}\r\nDPoP: {proof}\r\n")).Status);
        AssertProofRefused(await SendAsync($"Authorization: DPoP {token}\r\nDPoP: {proof}\r\n"));
        // A fresh proof for the cached token passes again.
        Assert.Equal(200, (await SendAsync($"Authorization: DPoP {token}\r\nDPoP: {ClientKey.Proof("POST", Htu, token)}\r\n")).Status);
    }

    [Theory]
    [InlineData("RS256")]
    [InlineData("PS256")]
    public async Task An_rsa_proof_key_binds_the_token_as_an_ec_key_does(string alg)
    {
        using var rsaKey = new DpopKey(alg);
        using var otherRsaKey = new DpopKey(alg);
        string token = Tokens.DpopBound("alice", rsaKey);
        string proof = rsaKey.Proof("POST", Htu, token);
        RawResponse admitted = await SendAsync($"Authorization: DPoP {token}\r\nDPoP: {proof}\r\n");
        Assert.True(admitted.Status == 200, admitted.ToString());
        AssertProofRefused(await SendAsync($"Authorization: DPoP {token}\r\nDPoP: {proof}\r\n"));
        RawResponse otherKey = await SendAsync($"Authorization: DPoP {token}\r\nDPoP: {otherRsaKey.Proof("POST", Htu, token)}\r\n");
        AssertProofRefused(otherKey);
        Assert.Contains("signed by another key", otherKey.Body, StringComparison.Ordinal);
        // A proof whose signature does not hold under its own jwk is refused too.
        string forged = proof[..^4] + (proof[^4] == 'A' ? "B" : "A") + proof[^3..];
        AssertProofRefused(await SendAsync($"Authorization: DPoP {token}\r\nDPoP: {forged}\r\n"));
        Assert.Equal(200, (await SendAsync($"Authorization: DPoP {token}\r\nDPoP: {rsaKey.Proof("POST", Htu, token)}\r\n")).Status);
        Assert.Equal(2, Gw.Upstream.Requests.Count);
    }

    public static TheoryData<string> SpoiledProofs => ["wrong htm", "wrong htu", "other path", "stale iat", "future iat", "wrong ath",
        "wrong key", "hmac", "private key", "wrong typ", "not a jws", "two fields", "no proof"];

    [Theory]
    [MemberData(nameof(SpoiledProofs))]
    public async Task A_spoiled_proof_is_refused_with_the_dpop_challenge_and_recorded(string spoil)
    {
        string token = Tokens.DpopBound("alice", ClientKey);
        // First a good request, so that the token is cached: the cache must not let a bad proof through.
        Assert.Equal(200, (await SendAsync($"Authorization: DPoP {token}\r\nDPoP: {ClientKey.Proof("POST", Htu, token)}\r\n")).Status);
        using var otherKey = new DpopKey();
        long now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        string dpopLines = spoil switch
        {
            "wrong htm" => $"DPoP: {ClientKey.Proof("GET", Htu, token)}\r\n",
            "wrong htu" => $"DPoP: {ClientKey.Proof("POST", "https://127.0.0.1/mcp", token)}\r\n",
            "other path" => $"DPoP: {ClientKey.Proof("POST", "http://127.0.0.1/other", token)}\r\n",
            "stale iat" => $"DPoP: {ClientKey.Proof("POST", Htu, token, iat: now - 120)}\r\n",
            "future iat" => $"DPoP: {ClientKey.Proof("POST", Htu, token, iat: now + 120)}\r\n",
            "wrong ath" => $"DPoP: {ClientKey.Proof("POST", Htu, Tokens.DpopBound("alice", ClientKey))}\r\n",
            "wrong key" => $"DPoP: {otherKey.Proof("POST", Htu, token)}\r\n",
            "hmac" => $"DPoP: {ClientKey.Proof("POST", Htu, token, hmacSecret: "shared")}\r\n",
            "private key" => $"DPoP: {ClientKey.Proof("POST", Htu, token, includePrivateKey: true)}\r\n",
            "wrong typ" => $"DPoP: {ClientKey.Proof("POST", Htu, token, typ: "JWT")}\r\n",
            "not a jws" => "DPoP: not.a-jws\r\n",
            "two fields" => $"DPoP: {ClientKey.Proof("POST", Htu, token)}\r\nDPoP: {ClientKey.Proof("POST", Htu, token)}\r\n",
            _ => "",
        };
        RawResponse response = await SendAsync($"Authorization: DPoP {token}\r\n{dpopLines}");
        AssertProofRefused(response);
        Assert.Single(Gw.Upstream.Requests);

        string metrics = await AdminGet.TextAsync(Gw.Gateway.AdminEndpoint, "/metrics");
        Assert.Contains("fastmcp_auth_failures_total{reason=\"InvalidDpopProof\"} 1\n", metrics);
        string[] records = await Gw.StopAndReadAuditAsync();
        Assert.Contains(records, r => r.Contains("\"InvalidDpopProof\"", StringComparison.Ordinal));
        // The proof itself is never written to the audit.
        if (dpopLines.Length > 48) Assert.DoesNotContain(records, r => r.Contains(dpopLines[6..40], StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_dpop_bound_token_sent_as_bearer_is_refused_with_or_without_a_proof_and_cached_or_not()
    {
        string token = Tokens.DpopBound("alice", ClientKey);
        RawResponse bare = await SendAsync($"Authorization: Bearer {token}\r\n");
        Assert.Equal(401, bare.Status);
        // RFC 9449 §7.2: refused in the scheme it came with, the DPoP scheme offered beside (DpopChallengeTests has them exactly).
        string[] challenges = bare.Head.GetAll("WWW-Authenticate");
        Assert.Equal(2, challenges.Length);
        Assert.Contains("error=\"invalid_token\"", challenges[0], StringComparison.Ordinal);
        Assert.StartsWith("DPoP algs=", challenges[1], StringComparison.Ordinal);
        Assert.Equal(401, (await SendAsync($"Authorization: Bearer {token}\r\nDPoP: {ClientKey.Proof("POST", Htu, token)}\r\n")).Status);
        Assert.Equal(200, (await SendAsync($"Authorization: DPoP {token}\r\nDPoP: {ClientKey.Proof("POST", Htu, token)}\r\n")).Status);
        Assert.Equal(401, (await SendAsync($"Authorization: Bearer {token}\r\n")).Status);
        Assert.Single(Gw.Upstream.Requests);
    }

    [Fact]
    public async Task The_dpop_scheme_with_a_token_bound_to_no_dpop_key_is_refused()
    {
        string plain = Gw.Token("alice");
        Assert.Equal(200, (await SendAsync($"Authorization: Bearer {plain}\r\n")).Status);
        RawResponse response = await SendAsync($"Authorization: DPoP {plain}\r\nDPoP: {ClientKey.Proof("POST", Htu, plain)}\r\n");
        Assert.Equal(401, response.Status);
        Assert.Contains("not bound to a DPoP key", response.Body, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"x5t":"abc"}""")]
    [InlineData("""{"kid":"k1"}""")]
    [InlineData("""{"jwk":{"kty":"EC"}}""")]
    [InlineData("""{}""")]
    [InlineData("""["jkt"]""")]
    [InlineData("\"jkt\"")]
    [InlineData("""{"jkt":"short"}""")]
    public async Task A_cnf_the_gateway_cannot_verify_is_refused(string cnf)
    {
        string token = Tokens.Mint("alice", cnf);
        RawResponse response = await SendAsync($"Authorization: Bearer {token}\r\n");
        Assert.Equal(401, response.Status);
        Assert.Contains("error=\"invalid_token\"", response.Header("WWW-Authenticate"), StringComparison.Ordinal);
        Assert.Contains("cnf", response.Body, StringComparison.Ordinal);
        Assert.Empty(Gw.Upstream.Requests);
        string metrics = await AdminGet.TextAsync(Gw.Gateway.AdminEndpoint, "/metrics");
        Assert.Contains("fastmcp_auth_failures_total{reason=\"UnsupportedConfirmation\"} 1\n", metrics);
    }

    [Fact]
    public async Task A_full_replay_cache_refuses_new_proofs_rather_than_forget_old_ones()
    {
        await using var gw = await PolicyGateway.StartAsync(UpstreamScripts.Echo, [new RuleOptions { Name = "all", Action = "allow" }],
            o => o.Identity!.Dpop = new FastMcp.Identity.DpopOptions { ReplayCacheSize = 16, MaxAgeSeconds = 600 });
        using var tokens = new BoundTokens(gw.DevKeyDirectory);
        string token = tokens.DpopBound("alice", ClientKey);
        string first = ClientKey.Proof("POST", Htu, token);
        for (int i = 0; i < 16; i++)
        {
            using RawClient c = await gw.Gateway.ConnectAsync();
            await c.SendAsync(gw.Gateway.Post(ToolCall, $"Authorization: DPoP {token}\r\nDPoP: {(i == 0 ? first : ClientKey.Proof("POST", Htu, token))}\r\n"));
            Assert.Equal(200, (await c.ReadResponseAsync()).Status);
        }
        using RawClient full = await gw.Gateway.ConnectAsync();
        await full.SendAsync(gw.Gateway.Post(ToolCall, $"Authorization: DPoP {token}\r\nDPoP: {ClientKey.Proof("POST", Htu, token)}\r\n"));
        RawResponse refused = await full.ReadResponseAsync();
        AssertProofRefused(refused);
        Assert.Contains("replay cache is full", refused.Body, StringComparison.Ordinal);
        // The first proof is still remembered: its replay is refused as a replay.
        using RawClient replay = await gw.Gateway.ConnectAsync();
        await replay.SendAsync(gw.Gateway.Post(ToolCall, $"Authorization: DPoP {token}\r\nDPoP: {first}\r\n"));
        Assert.Contains("already used", (await replay.ReadResponseAsync()).Body, StringComparison.Ordinal);
        Assert.Equal(16, gw.Upstream.Requests.Count);
    }

    [Theory]
    [InlineData("GET")]
    [InlineData("DELETE")]
    public async Task A_get_or_delete_carries_its_own_proof_for_its_own_method(string method)
    {
        await using var gw = await PolicyGateway.StartAsync(UpstreamScripts.OneSessionWithStream, [new RuleOptions { Name = "all", Action = "allow" }]);
        using var tokens = new BoundTokens(gw.DevKeyDirectory);
        string token = tokens.DpopBound("alice", ClientKey);
        using RawClient client = await gw.Gateway.ConnectAsync();
        await client.SendAsync(gw.Gateway.Post("""{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}""",
            $"Authorization: DPoP {token}\r\nDPoP: {ClientKey.Proof("POST", Htu, token)}\r\n"));
        Assert.Equal(200, (await client.ReadResponseAsync()).Status);

        string Request(string proofMethod) => $"{method} /mcp HTTP/1.1\r\nHost: {gw.Gateway.Authority}\r\nMcp-Session-Id: s-1\r\nAccept: text/event-stream\r\n"
            + $"MCP-Protocol-Version: 2025-06-18\r\nAuthorization: DPoP {token}\r\nDPoP: {ClientKey.Proof(proofMethod, Htu, token)}\r\n\r\n";
        // A proof made for the POST is not one for this request.
        await client.SendAsync(Request("POST"));
        AssertProofRefused(await client.ReadResponseAsync());
        await client.SendAsync(Request(method));
        Assert.Equal(200, (await client.ReadResponseAsync()).Status);
        UpstreamRequest seen = gw.Upstream.Requests.Last();
        Assert.Equal(method, seen.Method);
        Assert.Null(seen.Header("DPoP"));
        Assert.Null(seen.Header("Authorization"));
    }

    [Fact]
    public async Task A_certificate_bound_token_over_plain_http_is_refused()
    {
        string token = Tokens.CertificateBound("alice", System.Security.Cryptography.SHA256.HashData("any certificate"u8));
        RawResponse response = await SendAsync($"Authorization: Bearer {token}\r\n");
        Assert.Equal(401, response.Status);
        Assert.Contains("presented without its certificate", response.Body, StringComparison.Ordinal);
        Assert.Empty(Gw.Upstream.Requests);
    }
}
