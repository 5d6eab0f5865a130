using System.Net;
using System.Net.Http.Headers;
using FastMcp.Interop.Tests.Harness;

namespace FastMcp.Interop.Tests;

/// <summary>
/// The admin listener's views from the real binary (in CI the Native-AOT one): /tools/observed needs an operator's dev
/// token (and `fastmcp tools pin --token-file` sends it), /metrics the scrape token read from admin.metricsTokenFile,
/// while /healthz and /readyz answer the probes without one.
/// </summary>
[Trait("Category", "E2E")]
public sealed class AdminViewAccessInteropTests
{
    private const string ScrapeToken = "5d2e8f1a9c4b7e3f6a0d8c2b5e9f1a4d";

    [Fact]
    public async Task Tools_observed_and_metrics_need_their_credentials_and_the_probes_do_not()
    {
        using var upstream = new CannedMcpUpstream();
        string dir = Directory.CreateTempSubdirectory("fastmcp-interop-admin-").FullName;
        await File.WriteAllTextAsync(Path.Combine(dir, "metrics.token"), ScrapeToken + "\n");
        using GatewayProcess gateway = await GatewayProcess.StartWithConfigAsync($$"""
            {
              "listen": ["127.0.0.1:0"],
              "admin": { "listen": "127.0.0.1:0", "operatorGroups": ["sre"], "metricsTokenFile": "metrics.token" },
              "upstream": { "url": "{{upstream.Url}}" },
              "identity": { "mode": "dev", "devKeyDirectory": "keys", "resource": "http://127.0.0.1/mcp" },
              "audit": { "directory": "audit" },
              "toolPins": { "mode": "record" },
              "policy": { "rules": [{ "name": "all", "action": "allow" }] }
            }
            """, dir);
        string operatorToken = await TokenAsync(gateway, "carol", "sre");
        string developerToken = await TokenAsync(gateway, "bob", "dev");
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };

        async Task<HttpStatusCode> GetAsync(string path, string? token)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(gateway.AdminUrl, path));
            if (token is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            using HttpResponseMessage response = await http.SendAsync(request);
            return response.StatusCode;
        }

        Assert.Equal(HttpStatusCode.Unauthorized, await GetAsync("/tools/observed", null));
        Assert.Equal(HttpStatusCode.Forbidden, await GetAsync("/tools/observed", developerToken));
        Assert.Equal(HttpStatusCode.OK, await GetAsync("/tools/observed", operatorToken));
        Assert.Equal(HttpStatusCode.Unauthorized, await GetAsync("/metrics", null));
        Assert.Equal(HttpStatusCode.OK, await GetAsync("/metrics", ScrapeToken));
        Assert.Equal(HttpStatusCode.OK, await GetAsync("/healthz", null));
        Assert.Equal(HttpStatusCode.OK, await GetAsync("/readyz", null));

        await File.WriteAllTextAsync(Path.Combine(dir, "carol.token"), operatorToken);
        var (exit, _, stderr) = await GatewayProcess.RunToolAsync(dir, null, "tools", "pin", "--admin", gateway.AdminUrl.ToString().TrimEnd('/'),
            "--token-file", "carol.token", "--out", "pins.json");
        Assert.True(exit == 0, stderr);
        Assert.True(File.Exists(Path.Combine(dir, "pins.json")));
    }

    private static async Task<string> TokenAsync(GatewayProcess gateway, string subject, string groups)
    {
        var (exit, stdout, stderr) = await GatewayProcess.RunToolAsync(gateway.WorkDirectory, null,
            "token", "--key-dir", Path.Combine(gateway.WorkDirectory, "keys"), "--sub", subject, "--groups", groups, "--ttl", "1h");
        Assert.True(exit == 0, stderr);
        return stdout.Trim();
    }
}
