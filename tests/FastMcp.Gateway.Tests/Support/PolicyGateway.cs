using System.Text;
using System.Text.Json;
using FastMcp.Audit;
using FastMcp.Gateway.Configuration;
using FastMcp.Identity;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests.Support;

/// <summary>
/// The gateway with dev-mode identity, a policy and a strict audit log in front of a
/// <see cref="ScriptedUpstream"/>: for tests of what the policy stages do to requests and answers
/// the upstream shapes byte by byte. Tokens are minted for any subject and groups.
/// </summary>
internal sealed class PolicyGateway : IAsyncDisposable
{
    private readonly string _dir;
    private readonly DevKey _key;
    private bool _stopped;

    private PolicyGateway(string dir, ScriptedUpstream upstream, GatewayUnderTest gateway, DevKey key)
    {
        _dir = dir;
        Upstream = upstream;
        Gateway = gateway;
        _key = key;
    }

    public ScriptedUpstream Upstream { get; }
    public GatewayUnderTest Gateway { get; }
    public string AuditDirectory => Path.Combine(_dir, "audit");

    /// <summary>Where the gateway's dev signing key lives (identity.devKeyDirectory), for tokens with claims <see cref="Token"/> does not set.</summary>
    public string DevKeyDirectory => Path.Combine(_dir, "dev");

    public static async Task<PolicyGateway> StartAsync(Func<UpstreamExchange, Task> script, List<RuleOptions> rules, Action<GatewayOptions>? configure = null,
        TimeProvider? policyClock = null)
    {
        string dir = Path.Combine(Path.GetTempPath(), "fastmcp-policygw-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        var upstream = new ScriptedUpstream(script);
        GatewayUnderTest gateway;
        try
        {
            gateway = await GatewayUnderTest.StartWithStagesAsync(upstream.Url, options =>
            {
                options.Identity = new IdentityOptions { Mode = IdentityModes.Dev, Resource = "http://127.0.0.1/mcp", DevKeyDirectory = Path.Combine(dir, "dev") };
                options.Policy = new PolicyOptions { Rules = rules };
                options.Audit = new AuditOptions { Directory = Path.Combine(dir, "audit"), ChainId = "test" };
                configure?.Invoke(options);
            }, policyClock);
        }
        catch
        {
            await upstream.DisposeAsync();
            Directory.Delete(dir, recursive: true);
            throw;
        }
        return new PolicyGateway(dir, upstream, gateway, DevKeys.LoadOrCreate(Path.Combine(dir, "dev")));
    }

    public string Token(string subject, params string[] groups) =>
        _key.Mint(subject, groups, [], null, DevKeys.Audience, DateTimeOffset.UtcNow, TimeSpan.FromMinutes(10));

    /// <summary>A file holding a token of <paramref name="subject"/> in <paramref name="groups"/>: what a command's --token-file reads.</summary>
    public string TokenFile(string subject, params string[] groups)
    {
        string path = Path.Combine(_dir, subject + "-" + Guid.NewGuid().ToString("N") + ".token");
        File.WriteAllText(path, Token(subject, groups) + "\n");
        return path;
    }

    /// <summary>A token for <paramref name="subject"/> whose exp is at most <paramref name="lifetime"/> from now (whole seconds, rounded down).</summary>
    public string ShortLivedToken(string subject, TimeSpan lifetime) =>
        _key.Mint(subject, [], [], null, DevKeys.Audience, DateTimeOffset.UtcNow, lifetime);

    /// <summary>One POST of <paramref name="json"/> on a fresh connection, with the bearer token and extra header lines.</summary>
    public async Task<RawResponse> PostAsync(string json, string token, string extraHeaders = "", string path = "/mcp")
    {
        using RawClient client = await Gateway.ConnectAsync();
        await client.SendAsync(Gateway.Post(json, $"Authorization: Bearer {token}\r\n{extraHeaders}", path));
        return await client.ReadResponseAsync();
    }

    /// <summary>Stops the gateway (closing the audit log) and returns the audit timeline as JSON lines.</summary>
    public async Task<string[]> StopAndReadAuditAsync()
    {
        await StopAsync();
        var output = new StringWriter();
        int rc = await ReplayCommand.RunAsync([AuditDirectory, "--format", "jsonl"], output, new StringWriter());
        if (rc != 0) throw new Xunit.Sdk.XunitException($"fastmcp audit replay failed with {rc}");
        return output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    private async Task StopAsync()
    {
        if (_stopped) return;
        _stopped = true;
        await Gateway.DisposeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        await Upstream.DisposeAsync();
        _key.Dispose();
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    /// <summary>A tools/list result naming <paramref name="tools"/>, for the request id given as raw JSON.</summary>
    public static string ToolsListResult(string idJson, params string[] tools)
    {
        var sb = new StringBuilder("{\"jsonrpc\":\"2.0\",\"id\":").Append(idJson).Append(",\"result\":{\"tools\":[");
        for (int i = 0; i < tools.Length; i++)
        {
            if (i > 0) sb.Append(',');
            sb.Append("{\"name\":").Append(JsonSerializer.Serialize(tools[i])).Append(",\"inputSchema\":{\"type\":\"object\"}}");
        }
        return sb.Append("]}}").ToString();
    }

    /// <summary>The tool names of a tools/list result element.</summary>
    public static string[] ToolNames(JsonElement response) =>
        [.. response.GetProperty("result").GetProperty("tools").EnumerateArray().Select(t => t.GetProperty("name").GetString()!)];
}
