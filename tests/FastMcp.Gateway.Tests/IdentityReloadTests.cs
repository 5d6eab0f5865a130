using FastMcp.Audit;
using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Hosting;
using FastMcp.Gateway.Tests.Support;

namespace FastMcp.Gateway.Tests;

/// <summary>
/// identity.* on reload: the real gateway (oidc mode, issuers trusted through JWKS files) in front of an echoing upstream,
/// its configuration file rewritten and reloaded; what a token gets afterwards, cached ones included.
/// </summary>
[Collection(LogOutputCollection.Name)]
public sealed class IdentityReloadTests : IAsyncLifetime
{
    private const string Resource = "http://127.0.0.1/mcp";
    private readonly string _dir = Directory.CreateTempSubdirectory("fastmcp-identity-reload-").FullName;
    private readonly StringWriter _log = new();
    private readonly TextWriter _previousOutput = Log.Output;
    private FileIssuer _a = null!, _b = null!;
    private ScriptedUpstream _upstream = null!;
    private GatewayUnderTest? _gateway;
    private ConfigurationReloader? _reloader;

    private string ConfigPath => Path.Combine(_dir, "fastmcp.json");

    public async Task InitializeAsync()
    {
        Log.Output = _log;
        _a = new FileIssuer(_dir, "a");
        _b = new FileIssuer(_dir, "b");
        _upstream = new ScriptedUpstream(UpstreamScripts.Echo);
        await Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        _reloader?.Dispose();
        if (_gateway is not null) await _gateway.DisposeAsync();
        await _upstream.DisposeAsync();
        _a.Dispose();
        _b.Dispose();
        Log.Output = _previousOutput;
        Log.Apply(new LogOptions());
        Directory.Delete(_dir, recursive: true);
    }

    /// <summary>The configuration file: the identity section's inner members as given, everything else fixed.</summary>
    private string Config(string identity)
    {
        string key = Path.Combine(_dir, "keys", "audit-signing-key.pem");
        if (!File.Exists(key))
        {
            Directory.CreateDirectory(Path.GetDirectoryName(key)!);
            AuditKeys.Generate(key, Path.Combine(_dir, "keys", "audit-signing-key.pub.pem"));
        }
        return $$"""
            {
              "listen": ["127.0.0.1:0"],
              "admin": { "listen": "" },
              "upstream": { "url": "{{_upstream.Url}}" },
              "identity": { {{identity}} },
              "policy": { "rules": [{ "name": "all", "action": "allow" }] },
              "audit": { "directory": {{System.Text.Json.JsonSerializer.Serialize(Path.Combine(_dir, "audit"))}}, "signingKeyPath": {{System.Text.Json.JsonSerializer.Serialize(key)}} }
            }
            """;
    }

    private string Oidc(params FileIssuer[] issuers) => Oidc("", issuers);

    private string Oidc(string more, params FileIssuer[] issuers) =>
        $"\"mode\": \"oidc\", \"resource\": \"{Resource}\", \"issuers\": [{string.Join(", ", issuers.Select(i => i.ConfigEntry))}]{more}";

    /// <summary>Starts the gateway from the file as `fastmcp serve --config` builds it, with the reloader serve runs.</summary>
    private async Task StartAsync(string identity)
    {
        File.WriteAllText(ConfigPath, Config(identity));
        GatewayOptions file = ConfigurationLoader.Load(ConfigPath);
        _gateway = await GatewayUnderTest.StartWithStagesAsync(_upstream.Url, o =>
        {
            o.Identity = file.Identity;
            o.Policy = file.Policy;
            o.Audit = file.Audit;
        });
        _reloader = new ConfigurationReloader(ConfigPath, _gateway.Stages.Authorization!, _gateway.Stages.Audit, _gateway.Stages.Masking,
            TimeSpan.FromHours(1), _gateway.Options, _gateway.Host.Routes, _gateway.Stages.Authentication);
    }

    private bool Reload(string identity)
    {
        File.WriteAllText(ConfigPath, Config(identity));
        return _reloader!.Reload("test");
    }

    private async Task<RawResponse> CallAsync(string token, string id = "1")
    {
        using RawClient client = await _gateway!.ConnectAsync();
        await client.SendAsync(_gateway.Post(ToolCall(id), $"Authorization: Bearer {token}\r\n"));
        return await client.ReadResponseAsync("the gateway's answer");
    }

    [Fact]
    public async Task A_dpop_proof_accepted_before_a_reload_is_refused_after_it_also_once_a_longer_window_applies()
    {
        await StartAsync(Oidc(", \"dpop\": { \"maxAgeSeconds\": 5 }", _a));
        using var key = new DpopKey();
        string token = _a.Token("alice", Resource, dpopJkt: key.Thumbprint);
        // Made 3 s ago: inside the 5 s window for 2 s more, and remembered that long under it.
        long iat = DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 3;
        string proof = key.Proof("POST", Resource, token, iat: iat);

        async Task<RawResponse> WithProofAsync(string id)
        {
            using RawClient client = await _gateway!.ConnectAsync();
            await client.SendAsync(_gateway.Post(ToolCall(id), $"Authorization: DPoP {token}\r\nDPoP: {proof}\r\n"));
            return await client.ReadResponseAsync("the gateway's answer");
        }

        RawResponse first = await WithProofAsync("1");
        Assert.True(first.Status == 200, first.Body + _log);
        Assert.True(Reload(Oidc(", \"dpop\": { \"maxAgeSeconds\": 600 }", _a)));
        Assert.Contains(_reloader!.AppliedLive, field => field.StartsWith("identity.dpop", StringComparison.Ordinal));
        RawResponse replayed = await WithProofAsync("2");
        Assert.Equal(401, replayed.Status);
        Assert.Contains("already used", replayed.Body, StringComparison.Ordinal);

        // Past the old window the proof is still inside the new one: it must still be remembered.
        TimeSpan untilOldWindowEnds = DateTimeOffset.FromUnixTimeSeconds(iat + 6) - DateTimeOffset.UtcNow;
        if (untilOldWindowEnds > TimeSpan.Zero) await Task.Delay(untilOldWindowEnds);
        RawResponse late = await WithProofAsync("3");
        Assert.Equal(401, late.Status);
        Assert.Contains("already used", late.Body, StringComparison.Ordinal);
        Assert.Single(_upstream.Requests);
    }

    [Fact]
    public async Task A_removed_issuer_is_distrusted_at_once_its_cached_tokens_included()
    {
        await StartAsync(Oidc(_a, _b));
        string fromA = _a.Token("alice", Resource), fromB = _b.Token("bob", Resource);
        RawResponse first = await CallAsync(fromB);
        Assert.True(first.Status == 200, first.Body + _log);
        Assert.Equal(200, (await CallAsync(fromA)).Status); // both verified and cached

        Assert.True(Reload(Oidc(_a)));

        RawResponse refused = await CallAsync(fromB, "2");
        Assert.Equal(401, refused.Status);
        Assert.Contains("invalid_token", refused.Header("WWW-Authenticate"), StringComparison.Ordinal);
        Assert.Equal(401, (await CallAsync(_b.Token("bob", Resource), "3")).Status); // a new token of B too
        Assert.Equal(200, (await CallAsync(fromA, "4")).Status); // A's cached token is verified again and still good
    }

    [Fact]
    public async Task An_added_issuer_is_trusted_without_a_restart()
    {
        await StartAsync(Oidc(_a));
        string fromB = _b.Token("bob", Resource);
        Assert.Equal(401, (await CallAsync(fromB)).Status);

        Assert.True(Reload(Oidc(_a, _b)));
        Assert.Equal(["identity.issuers"], _reloader!.AppliedLive);
        Assert.Empty(_reloader.RestartRequired);
        Assert.Equal(200, (await CallAsync(fromB, "2")).Status);
        Assert.Contains("applied live: identity.issuers", _log.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tightened_required_scopes_refuse_a_token_verified_and_cached_before()
    {
        await StartAsync(Oidc(_a));
        string token = _a.Token("alice", Resource, scope: "mcp:tools");
        Assert.Equal(200, (await CallAsync(token)).Status);

        Assert.True(Reload(Oidc(", \"requiredScopes\": [\"mcp:admin\"]", _a)));
        Assert.Contains("identity.requiredScopes", _reloader!.AppliedLive);

        RawResponse refused = await CallAsync(token, "2");
        Assert.Equal(403, refused.Status);
        string challenge = refused.Header("WWW-Authenticate")!;
        Assert.Contains("error=\"insufficient_scope\"", challenge, StringComparison.Ordinal);
        Assert.Contains("scope=\"mcp:admin\"", challenge, StringComparison.Ordinal); // the challenge follows the new scopes
        Assert.Equal(200, (await CallAsync(_a.Token("alice", Resource, scope: "mcp:tools mcp:admin"), "3")).Status);
    }

    [Fact]
    public async Task A_mode_change_still_needs_a_restart_and_identity_changes_made_with_it_wait_too()
    {
        await StartAsync(Oidc(_a, _b));
        string fromB = _b.Token("bob", Resource);
        Assert.Equal(200, (await CallAsync(fromB)).Status);

        Assert.True(Reload($"\"mode\": \"dev\", \"resource\": \"{Resource}\", \"issuers\": [{_a.ConfigEntry}]"));
        Assert.Contains("identity.mode", _reloader!.RestartRequired);
        Assert.Contains("identity.issuers", _reloader.RestartRequired);
        Assert.DoesNotContain("identity.issuers", _reloader.AppliedLive);
        Assert.Contains("field identity.mode changed; restart required to apply", _log.ToString(), StringComparison.Ordinal);
        Assert.Equal(200, (await CallAsync(fromB, "2")).Status); // the running settings stay whole until the restart
    }

    [Fact]
    public async Task The_upstream_credential_stays_restart_only_and_the_other_identity_changes_apply_without_it()
    {
        string secret = Path.Combine(_dir, "upstream.token");
        File.WriteAllText(secret, "s3cret");
        string credential(string header) => $", \"upstreamCredential\": {{ \"valueFile\": {System.Text.Json.JsonSerializer.Serialize(secret)}, \"headerName\": \"{header}\" }}";
        await StartAsync(Oidc(credential("Authorization"), _a, _b));
        string fromB = _b.Token("bob", Resource);
        Assert.Equal(200, (await CallAsync(fromB)).Status);
        Assert.Equal("Bearer s3cret", _upstream.Requests.Last().Header("Authorization"));

        Assert.True(Reload(Oidc(credential("X-Upstream-Token"), _a)));
        Assert.Equal(["identity.issuers"], _reloader!.AppliedLive);
        Assert.Equal(["identity.upstreamCredential.headerName"], _reloader.RestartRequired);
        Assert.Equal(401, (await CallAsync(fromB, "2")).Status);
        Assert.Equal(200, (await CallAsync(_a.Token("alice", Resource), "3")).Status);
        Assert.Equal("Bearer s3cret", _upstream.Requests.Last().Header("Authorization")); // the credential built at start
        Assert.Null(_upstream.Requests.Last().Header("X-Upstream-Token"));

        // Still reported on the next reload, until a restart.
        Assert.True(Reload(Oidc(credential("X-Upstream-Token") + ", \"clockSkewSeconds\": 10", _a)));
        Assert.Equal(["identity.clockSkewSeconds"], _reloader.AppliedLive);
        Assert.Equal(["identity.upstreamCredential.headerName"], _reloader.RestartRequired);
    }

    [Fact]
    public async Task An_invalid_identity_section_or_an_issuer_without_keys_rejects_the_reload_and_the_validator_in_force_serves_on()
    {
        await StartAsync(Oidc(_a, _b));
        string fromB = _b.Token("bob", Resource);
        Assert.Equal(200, (await CallAsync(fromB)).Status);

        // Removing B together with a bad value: nothing applies, B stays trusted (its cached token too).
        Assert.False(Reload(Oidc(", \"allowedAlgorithms\": [\"HS256\"]", _a)));
        Assert.Contains("identity.allowedAlgorithms: 'HS256' is never accepted", _log.ToString(), StringComparison.Ordinal);
        Assert.Equal(200, (await CallAsync(fromB, "2")).Status);

        // An issuer whose keys cannot be fetched refuses the reload as it refuses a start.
        string missing = Path.Combine(_dir, "missing.jwks.json");
        string withoutKeys = $"{{ \"issuer\": \"https://c.idp.test\", \"jwksFile\": {System.Text.Json.JsonSerializer.Serialize(missing)} }}";
        Assert.False(Reload($"\"mode\": \"oidc\", \"resource\": \"{Resource}\", \"issuers\": [{_a.ConfigEntry}, {withoutKeys}]"));
        Assert.Contains("issuer 'https://c.idp.test': cannot read jwksFile", _log.ToString(), StringComparison.Ordinal);
        Assert.Equal(200, (await CallAsync(fromB, "3")).Status);
        Assert.Equal(200, (await CallAsync(_b.Token("bob", Resource), "4")).Status);

        // The file as applied is still the first one: a valid reload afterwards names the change against it.
        Assert.True(Reload(Oidc(_a)));
        Assert.Equal(["identity.issuers"], _reloader!.AppliedLive);
        Assert.Equal(401, (await CallAsync(fromB, "5")).Status);
    }

    [Fact]
    public async Task The_metadata_document_and_its_path_follow_the_reloaded_section()
    {
        await StartAsync(Oidc(_a));
        RawResponse before = await GetAsync("/.well-known/oauth-protected-resource/mcp");
        Assert.Equal(200, before.Status);
        Assert.Contains($"\"authorization_servers\":[\"{_a.Issuer}\"]", before.Body, StringComparison.Ordinal);

        Assert.True(Reload(Oidc(", \"authorizationServers\": [\"https://login.example.test\"]", _a)));
        RawResponse after = await GetAsync("/.well-known/oauth-protected-resource/mcp");
        Assert.Contains("\"authorization_servers\":[\"https://login.example.test\"]", after.Body, StringComparison.Ordinal);

        // A new resource moves the path-inserted metadata URL, and the challenges point at it.
        Assert.True(Reload(Oidc(_a).Replace(Resource, "http://127.0.0.1/tools", StringComparison.Ordinal)));
        Assert.Contains("identity.resource", _reloader!.AppliedLive);
        RawResponse moved = await GetAsync("/.well-known/oauth-protected-resource/tools");
        Assert.Equal(200, moved.Status);
        Assert.Contains("\"resource\":\"http://127.0.0.1/tools\"", moved.Body, StringComparison.Ordinal);
        Assert.NotEqual(200, (await GetAsync("/.well-known/oauth-protected-resource/mcp")).Status);
        RawResponse refused = await CallAsync(_a.Token("alice", Resource)); // the old audience
        Assert.Equal(401, refused.Status);
        Assert.Contains("resource_metadata=\"http://127.0.0.1/.well-known/oauth-protected-resource/tools\"", refused.Header("WWW-Authenticate"), StringComparison.Ordinal);
        Assert.Equal(200, (await CallAsync(_a.Token("alice", "http://127.0.0.1/tools"), "2")).Status);
    }

    [Fact]
    public async Task The_audit_record_of_the_reload_names_the_identity_fields_applied()
    {
        await StartAsync(Oidc(_a, _b));
        Assert.True(Reload(Oidc(", \"clockSkewSeconds\": 5", _a)));
        await _gateway!.DisposeAsync();
        _gateway = null;
        var output = new StringWriter();
        Assert.Equal(0, await ReplayCommand.RunAsync([Path.Combine(_dir, "audit"), "--format", "jsonl"], output, new StringWriter()));
        string reload = Assert.Single(output.ToString().Split('\n'), l => l.Contains("reload (test) applied", StringComparison.Ordinal));
        Assert.Contains("identity.issuers", reload, StringComparison.Ordinal);
        Assert.Contains("identity.clockSkewSeconds", reload, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_cached_token_through_the_authentication_stage_allocates_nothing_before_and_after_a_reload()
    {
        await StartAsync(Oidc(_a, _b));
        FastMcp.Gateway.Stages.Authentication authentication = _gateway!.Stages.Authentication!;
        var request = new Http.HttpRequestHead(new Http.HttpLimits());
        string head = $"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {_a.Token("alice", Resource)}\r\n\r\n";
        Assert.Equal(Http.HttpRejectReason.None, request.Parse(System.Text.Encoding.ASCII.GetBytes(head)));

        void AssertCachedHitsAllocateNothing()
        {
            Assert.True((Completed(authentication.AuthenticateAsync(request, certificate: null))).Succeeded); // first sight: verified and cached
            int ok = 0;
            long allocated = FastMcp.Testing.ThreadAllocations.Measure(() =>
            {
                ok = 0;
                for (int i = 0; i < 10_000; i++)
                {
                    ValueTask<Identity.AuthResult> pending = authentication.AuthenticateAsync(request, certificate: null);
                    Assert.True(pending.IsCompletedSuccessfully);
                    if (pending.Result.Succeeded) ok++;
                }
            });
            Assert.Equal(10_000, ok);
            Assert.Equal(0, allocated);
        }

        AssertCachedHitsAllocateNothing();
        Assert.True(Reload(Oidc(_a)));
        AssertCachedHitsAllocateNothing();
    }

    /// <summary>The result of a first sight (a full verification, asynchronous).</summary>
    private static Identity.AuthResult Completed(ValueTask<Identity.AuthResult> pending) => pending.AsTask().GetAwaiter().GetResult();

    [Fact]
    public async Task A_verification_under_way_finishes_with_the_old_validator_which_is_released_after_it()
    {
        // Issuer C publishes its keys over HTTP; its second fetch (a token under a kid it did not publish yet) is held.
        using var c = new FileIssuer(_dir, "c");
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        int fetches = 0;
        await using var keyServer = new ScriptedUpstream(async x =>
        {
            bool refresh = Interlocked.Increment(ref fetches) > 1;
            if (refresh) await release.Task.WaitAsync(x.Stopping);
            await x.RespondJsonAsync(refresh ? c.Jwks("k1", "k3") : c.Jwks("k1"));
        });
        string fromC = $"{{ \"issuer\": \"{c.Issuer}\", \"jwksUri\": \"{keyServer.Url}\" }}";
        await StartAsync($"\"mode\": \"oidc\", \"resource\": \"{Resource}\", \"unknownKeyRefreshSeconds\": 0, \"issuers\": [{_a.ConfigEntry}, {fromC}]");
        string underNewKid = c.Token("carol", Resource, kid: "k3");

        using RawClient inFlight = await _gateway!.ConnectAsync();
        await inFlight.SendAsync(_gateway.Post(ToolCall("1"), $"Authorization: Bearer {underNewKid}\r\n"));
        for (int i = 0; i < 500 && Volatile.Read(ref fetches) < 2; i++) await Task.Delay(10);
        Assert.Equal(2, Volatile.Read(ref fetches)); // the verification is waiting on the old validator's key fetch

        Assert.True(Reload(Oidc(_a)));
        Assert.Equal(401, (await CallAsync(c.Token("carol", Resource), "2")).Status); // C is no longer trusted
        Assert.Equal(0, keyServer.ConnectionsEnded); // the old validator is still in use: its HTTP client is open

        release.SetResult();
        // Started before the reload, it ends as the old validator decides (k3 now published: accepted); a validator
        // disposed under it would have cancelled the fetch (401).
        RawResponse finished = await inFlight.ReadResponseAsync("the answer to the request verified during the reload");
        Assert.Equal(200, finished.Status);
        // Its last use over, the old validator is disposed, and with it the HTTP client holding the key server connection.
        for (int i = 0; i < 500 && keyServer.ConnectionsEnded == 0; i++) await Task.Delay(10);
        Assert.Equal(1, keyServer.ConnectionsEnded);
    }

    private static string ToolCall(string id) => "{\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"method\":\"tools/call\",\"params\":{\"name\":\"echo\",\"arguments\":{}}}";

    private async Task<RawResponse> GetAsync(string path)
    {
        using RawClient client = await _gateway!.ConnectAsync();
        await client.SendAsync($"GET {path} HTTP/1.1\r\nHost: {_gateway.Authority}\r\n\r\n");
        return await client.ReadResponseAsync("the gateway's answer");
    }
}
