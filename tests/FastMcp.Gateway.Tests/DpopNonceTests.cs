using System.Buffers.Binary;
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Identity;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests;

/// <summary>
/// identity.dpop.requireNonce through the real gateway (RFC 9449 §8): a proof without the gateway's nonce, or with a
/// stale or forged one, is answered 401 use_dpop_nonce with the nonce to use in DPoP-Nonce; the retry with it is admitted.
/// Nonces are a MAC of a time window under a shared key file, so another replica with the same key accepts them and the
/// test, holding the key, can make them as docs/identity.md says. The nonce never reaches the upstream, and an
/// upstream's own DPoP-Nonce never reaches the client.
/// </summary>
public sealed class DpopNonceTests : IAsyncLifetime
{
    private const string Htu = "http://127.0.0.1/mcp";
    private const string ToolCall = """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{}}}""";
    private const int Lifetime = 60;

    private readonly string _dir = Directory.CreateTempSubdirectory("fastmcp-dpop-nonce-").FullName;
    private readonly byte[] _nonceKey = Encoding.ASCII.GetBytes(Convert.ToHexString(RandomNumberGenerator.GetBytes(32)));
    private readonly DpopKey _key = new();
    private PolicyGateway _gw = null!;
    private BoundTokens _tokens = null!;

    private string KeyFile => Path.Combine(_dir, "dpop-nonce.key");

    public async Task InitializeAsync()
    {
        await File.WriteAllBytesAsync(KeyFile, [.. _nonceKey, (byte)'\n']);
        _gw = await StartReplicaAsync(UpstreamScripts.Echo);
        _tokens = new BoundTokens(_gw.DevKeyDirectory);
    }

    public async Task DisposeAsync()
    {
        _tokens.Dispose();
        _key.Dispose();
        await _gw.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    private Task<PolicyGateway> StartReplicaAsync(Func<UpstreamExchange, Task> script, string[]? forwardHeaders = null) =>
        PolicyGateway.StartAsync(script, [new RuleOptions { Name = "all", Action = "allow" }], o =>
        {
            o.Identity!.Dpop = new DpopOptions { RequireNonce = true, NonceKeyFile = KeyFile, NonceLifetimeSeconds = Lifetime };
            if (forwardHeaders is not null) o.Upstream.ForwardHeaders = [.. forwardHeaders];
        });

    /// <summary>The nonce for a window, made as docs/identity.md describes: base64url(window ‖ HMAC-SHA256(key, label ‖ window)[..16]).</summary>
    private string NonceFor(long window)
    {
        byte[] input = [.. "FastMcp DPoP nonce v1\n"u8, .. new byte[8]];
        BinaryPrimitives.WriteInt64BigEndian(input.AsSpan(input.Length - 8), window);
        byte[] nonce = new byte[24];
        BinaryPrimitives.WriteInt64BigEndian(nonce, window);
        HMACSHA256.HashData(_nonceKey, input).AsSpan(0, 16).CopyTo(nonce.AsSpan(8));
        return Base64Url.EncodeToString(nonce);
    }

    private static long WindowNow => DateTimeOffset.UtcNow.ToUnixTimeSeconds() / Lifetime;

    private static async Task<RawResponse> SendAsync(PolicyGateway gw, string token, string proof, string more = "")
    {
        using RawClient client = await gw.Gateway.ConnectAsync();
        await client.SendAsync(gw.Gateway.Post(ToolCall, $"Authorization: DPoP {token}\r\nDPoP: {proof}\r\n{more}"));
        return await client.ReadResponseAsync();
    }

    private static string AssertNonceAsked(RawResponse response, string why)
    {
        Assert.Equal(401, response.Status);
        Assert.Equal(["DPoP error=\"use_dpop_nonce\", error_description=\"the DPoP proof must carry the nonce in the DPoP-Nonce field\", "
            + "algs=\"RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512\", resource_metadata=\"http://127.0.0.1/.well-known/oauth-protected-resource/mcp\""],
            response.Head.GetAll("WWW-Authenticate"));
        Assert.Contains(why, response.Body, StringComparison.Ordinal);
        return response.Header("DPoP-Nonce") ?? throw new Xunit.Sdk.XunitException("no DPoP-Nonce field: " + response);
    }

    [Fact]
    public async Task A_proof_without_the_nonce_gets_one_and_the_retry_with_it_is_admitted_without_the_nonce_reaching_the_upstream()
    {
        string token = _tokens.DpopBound("alice", _key);
        long before = WindowNow;
        string nonce = AssertNonceAsked(await SendAsync(_gw, token, _key.Proof("POST", Htu, token)), "has no nonce");
        Assert.Contains(nonce, new[] { NonceFor(before), NonceFor(WindowNow) });
        Assert.Empty(_gw.Upstream.Requests);

        RawResponse admitted = await SendAsync(_gw, token, _key.Proof("POST", Htu, token, nonce: nonce), $"DPoP-Nonce: {nonce}\r\n");
        Assert.True(admitted.Status == 200, admitted.ToString());
        UpstreamRequest seen = _gw.Upstream.SingleRequest();
        Assert.DoesNotContain(nonce, seen.Head.Raw, StringComparison.Ordinal);
        Assert.Null(seen.Header("DPoP"));

        // Asking for a nonce spends no failed-authentication budget; it is counted and recorded as what it is.
        string metrics = await AdminGet.TextAsync(_gw.Gateway.AdminEndpoint, "/metrics");
        Assert.Contains("fastmcp_auth_failures_total{reason=\"UseDpopNonce\"} 1\n", metrics);
        string[] records = await _gw.StopAndReadAuditAsync();
        Assert.Contains(records, r => r.Contains("\"UseDpopNonce\"", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_stale_or_forged_nonce_is_refused_with_a_fresh_one_and_a_neighbouring_window_is_accepted()
    {
        string token = _tokens.DpopBound("alice", _key);
        string stale = NonceFor(WindowNow - 2);
        string fresh = AssertNonceAsked(await SendAsync(_gw, token, _key.Proof("POST", Htu, token, nonce: stale)), "not one the gateway issued recently");
        Assert.NotEqual(stale, fresh);
        char[] forged = NonceFor(WindowNow).ToCharArray();
        forged[20] = forged[20] == 'A' ? 'B' : 'A';
        AssertNonceAsked(await SendAsync(_gw, token, _key.Proof("POST", Htu, token, nonce: new string(forged))), "not one the gateway issued recently");
        AssertNonceAsked(await SendAsync(_gw, token, _key.Proof("POST", Htu, token, nonce: "not-a-nonce")), "not one the gateway issued recently");
        Assert.Empty(_gw.Upstream.Requests);

        // The window before (a nonce issued just before the window turned) and after (a replica whose clock runs ahead).
        Assert.Equal(200, (await SendAsync(_gw, token, _key.Proof("POST", Htu, token, nonce: NonceFor(WindowNow - 1)))).Status);
        Assert.Equal(200, (await SendAsync(_gw, token, _key.Proof("POST", Htu, token, nonce: NonceFor(WindowNow + 1)))).Status);
        // A proof refused for its nonce is not remembered: made again with the nonce, the same jti passes.
        AssertNonceAsked(await SendAsync(_gw, token, _key.Proof("POST", Htu, token, jti: "retry-1")), "has no nonce");
        Assert.Equal(200, (await SendAsync(_gw, token, _key.Proof("POST", Htu, token, jti: "retry-1", nonce: fresh))).Status);
    }

    [Fact]
    public async Task Another_replica_with_the_same_key_accepts_the_nonce_and_no_upstream_nonce_reaches_the_client()
    {
        await using PolicyGateway replica = await StartReplicaAsync(x => x.RespondJsonAsync(
            """{"jsonrpc":"2.0","id":1,"result":{"content":[]}}""", "DPoP-Nonce: upstream-nonce\r\n"), forwardHeaders: ["*"]);
        string token = _tokens.DpopBound("alice", _key);
        string nonce = AssertNonceAsked(await SendAsync(_gw, token, _key.Proof("POST", Htu, token)), "has no nonce");

        // Each test gateway has its own dev issuer key; the nonce is the deployment's, whoever the token is from.
        using var replicaTokens = new BoundTokens(replica.DevKeyDirectory);
        string replicaToken = replicaTokens.DpopBound("alice", _key);
        RawResponse admitted = await SendAsync(replica, replicaToken, _key.Proof("POST", Htu, replicaToken, nonce: nonce), $"DPoP-Nonce: {nonce}\r\n");
        Assert.True(admitted.Status == 200, admitted.ToString());
        Assert.Null(admitted.Header("DPoP-Nonce"));
        UpstreamRequest seen = replica.Upstream.SingleRequest();
        Assert.Null(seen.Header("DPoP-Nonce"));
        Assert.DoesNotContain(nonce, seen.Head.Raw, StringComparison.Ordinal);
    }
}
