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
        string call = "{\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"method\":\"tools/call\",\"params\":{\"name\":\"echo\",\"arguments\":{}}}";
        await client.SendAsync(_gateway.Post(call, $"Authorization: Bearer {token}\r\n"));
        return await client.ReadResponseAsync("the gateway's answer");
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
}
