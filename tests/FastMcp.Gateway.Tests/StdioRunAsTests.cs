using System.Text.Json;
using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests;

/// <summary>
/// stdio.runAs through the in-process gateway, with real node server processes: the server runs as nobody with only
/// its group, cannot read a file only the gateway's user may read, keeps its limits and is still stopped (SIGTERM, then
/// SIGKILL); a working directory the user cannot enter refuses the session; the start-up check names the gateway's
/// files the user could read, counts them, and with requireSecretIsolation refuses to start.
/// </summary>
[Collection(LogOutputCollection.Name)]
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class StdioRunAsTests : IDisposable
{
    private static readonly List<RuleOptions> AllowAll = [new RuleOptions { Name = "all", Action = "allow", Methods = ["*"] }];

    /// <summary>Tools: read (a file's content, or the error code), whoami (ids, groups, pid, cwd). On SIGTERM it says so and stays.</summary>
    private const string Server = """
        const fs = require('fs');
        process.on('SIGTERM', () => process.stderr.write('got SIGTERM, staying\n'));
        setInterval(() => {}, 1000);
        const lines = require('readline').createInterface({ input: process.stdin });
        lines.on('line', line => {
          const m = JSON.parse(line);
          if (m.id === undefined) return;
          let result = {};
          if (m.method === 'initialize') {
            result = { protocolVersion: '2025-06-18', capabilities: { tools: {} }, serverInfo: { name: 'runas-test', version: '1' } };
          } else if (m.method === 'tools/call') {
            let text;
            if (m.params.name === 'read') {
              try { text = 'content: ' + fs.readFileSync(m.params.arguments.path, 'utf8'); } catch (e) { text = 'error: ' + e.code; }
            } else {
              text = JSON.stringify({ uid: process.getuid(), gid: process.getgid(), groups: process.getgroups(), pid: process.pid });
            }
            result = { content: [{ type: 'text', text }] };
          }
          process.stdout.write(JSON.stringify({ jsonrpc: '2.0', id: m.id, result }) + '\n');
        });
        """;

    private const string SecretText = "stand-in for the audit signing key";
    private readonly string _dir = Directory.CreateTempSubdirectory("fastmcp-runas-").FullName;

    public StdioRunAsTests() => File.SetUnixFileMode(_dir, (UnixFileMode)0b111_101_101);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>A file in a folder everyone may search, with <paramref name="mode"/>.</summary>
    private string FileWith(string name, string content, int mode)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllText(path, content);
        File.SetUnixFileMode(path, (UnixFileMode)mode);
        return path;
    }

    private static void RunAsNobody(StdioUpstreamOptions stdio) => stdio.RunAs = new StdioRunAsOptions { User = "nobody" };

    private static async Task<string> OpenAsync(PolicyGateway gw, string token)
    {
        RawResponse opened = await gw.PostAsync(
            """{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}""",
            token, "", StdioServerFolder.Route);
        Assert.True(opened.Status == 200, opened.ToString());
        return opened.Header("Mcp-Session-Id")!;
    }

    private static async Task<string> CallAsync(PolicyGateway gw, string token, string session, int id, string tool, object arguments)
    {
        string body = JsonSerializer.Serialize(new { jsonrpc = "2.0", id, method = "tools/call", @params = new { name = tool, arguments } });
        RawResponse called = await gw.PostAsync(body, token, $"Mcp-Session-Id: {session}\r\nMCP-Protocol-Version: 2025-06-18\r\n", StdioServerFolder.Route);
        Assert.True(called.Status == 200, called.ToString());
        using JsonDocument doc = JsonDocument.Parse(called.Body);
        return doc.RootElement.GetProperty("result").GetProperty("content")[0].GetProperty("text").GetString()!;
    }

    [RunAsNobodyFact]
    public async Task A_run_as_server_runs_as_nobody_with_only_its_group_and_cannot_read_the_gateways_owner_only_file()
    {
        string secret = FileWith("signing-key.pem", SecretText, 0b110_000_000);
        string open = FileWith("public.txt", "for everyone", 0b110_100_100);
        using var server = new StdioServerFolder(Server);
        await using var gw = await PolicyGateway.StartAsync(UpstreamScripts.Echo, AllowAll, o => server.AddTo(o, adjust: RunAsNobody));
        string alice = gw.Token("alice");
        string session = await OpenAsync(gw, alice);

        // The tool works (it reads what nobody may read), and the owner-only file is refused by the kernel.
        Assert.Equal("content: for everyone", await CallAsync(gw, alice, session, 3, "read", new { path = open }));
        string answer = await CallAsync(gw, alice, session, 4, "read", new { path = secret });
        Assert.Equal("error: EACCES", answer);

        using JsonDocument who = JsonDocument.Parse(await CallAsync(gw, alice, session, 2, "whoami", new { }));
        Assert.Equal(65534, who.RootElement.GetProperty("uid").GetInt32());
        Assert.Equal(65534, who.RootElement.GetProperty("gid").GetInt32());
        Assert.Equal([65534], who.RootElement.GetProperty("groups").EnumerateArray().Select(g => g.GetInt32()).ToArray());
    }

    [RunAsNobodyFact]
    public async Task Limits_reach_a_run_as_server_and_the_stop_path_still_ends_it_with_sigterm_then_sigkill()
    {
        using var server = new StdioServerFolder(Server);
        using var log = new CapturedLog();
        await using var gw = await PolicyGateway.StartAsync(UpstreamScripts.Echo, AllowAll, o => server.AddTo(o, adjust: stdio =>
        {
            RunAsNobody(stdio);
            stdio.StopGraceMs = 1_000;
            stdio.Limits = new StdioLimitsOptions { MemoryMb = 3072, CpuSeconds = 100, OpenFiles = 200 };
        }));
        string alice = gw.Token("alice");
        string session = await OpenAsync(gw, alice);
        using JsonDocument who = JsonDocument.Parse(await CallAsync(gw, alice, session, 2, "whoami", new { }));
        int pid = who.RootElement.GetProperty("pid").GetInt32();

        // The kernel's view of the process: its limits (soft and hard) and its ids (real, effective, saved, filesystem).
        string[] limits = await File.ReadAllLinesAsync($"/proc/{pid}/limits");
        static string[] Row(string[] lines, string name) =>
            lines.Single(l => l.StartsWith(name, StringComparison.Ordinal))[name.Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["3221225472", "3221225472", "bytes"], Row(limits, "Max address space"));
        Assert.Equal(["100", "101", "seconds"], Row(limits, "Max cpu time"));
        Assert.Equal(["200", "200", "files"], Row(limits, "Max open files"));
        string[] status = await File.ReadAllLinesAsync($"/proc/{pid}/status");
        Assert.Equal("Uid:\t65534\t65534\t65534\t65534", status.Single(l => l.StartsWith("Uid:", StringComparison.Ordinal)));

        // DELETE ends the session: stdin closed (ignored), SIGTERM (reaches it, ignored), then SIGKILL; answered once it is gone.
        using (RawClient client = await gw.Gateway.ConnectAsync())
        {
            await client.SendAsync($"DELETE {StdioServerFolder.Route} HTTP/1.1\r\nHost: {gw.Gateway.Authority}\r\nAuthorization: Bearer {alice}\r\nMcp-Session-Id: {session}\r\n\r\n");
            RawResponse deleted = await client.ReadResponseAsync("the DELETE answer");
            Assert.True(deleted.Status is 200 or 204, deleted.ToString());
        }
        for (int i = 0; i < 200 && Directory.Exists($"/proc/{pid}"); i++) await Task.Delay(50);
        Assert.False(Directory.Exists($"/proc/{pid}"), $"the run-as server (pid {pid}) is still running");
        Assert.Contains("got SIGTERM, staying", log.Text, StringComparison.Ordinal);
        Assert.Equal(1, gw.Gateway.StdioBridges["tool"].Events.Total(Upstream.Stdio.StdioEvent.Killed));
    }

    [RunAsNobodyFact]
    public async Task A_working_directory_the_user_cannot_enter_refuses_the_session_clearly()
    {
        string closed = Path.Combine(_dir, "closed");
        Directory.CreateDirectory(closed);
        File.SetUnixFileMode(closed, (UnixFileMode)0b111_000_000);
        using var server = new StdioServerFolder(Server);
        using var log = new CapturedLog();
        await using var gw = await PolicyGateway.StartAsync(UpstreamScripts.Echo, AllowAll, o => server.AddTo(o, adjust: stdio =>
        {
            RunAsNobody(stdio);
            stdio.WorkingDirectory = closed;
        }));

        RawResponse opened = await gw.PostAsync(
            """{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}""",
            gw.Token("alice"), "", StdioServerFolder.Route);

        Assert.Equal(502, opened.Status);
        Assert.Contains("could not be started", opened.Body, StringComparison.Ordinal);
        Assert.Contains($"workingDirectory '{closed}' is not usable by runAs uid 65534 gid 65534: no search permission on '{closed}'", log.Text, StringComparison.Ordinal);
        Assert.Equal(1, await AdminGet.MetricAsync(gw.Gateway.AdminEndpoint, "fastmcp_stdio_events_total{upstream=\"tool\",event=\"start_failed\"}"));
        Assert.Equal(0, gw.Gateway.StdioBridges["tool"].SessionCount);
    }

    private void FingerprintKey(GatewayOptions o, string path)
    {
        o.Masking.FingerprintKeyFile = path;
        o.Masking.FingerprintKeyEnv = null;
    }

    [RunAsNobodyFact]
    public async Task A_key_file_the_user_could_read_is_warned_about_by_field_and_counted_and_refused_when_isolation_is_required()
    {
        const string key = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
        string keyFile = FileWith("fingerprint.key", key, 0b110_100_100);
        using var server = new StdioServerFolder(Server);
        using var log = new CapturedLog();
        await using (var gw = await PolicyGateway.StartAsync(UpstreamScripts.Echo, AllowAll, o =>
        {
            server.AddTo(o, adjust: RunAsNobody);
            FingerprintKey(o, keyFile);
        }))
        {
            Assert.Equal(1, await AdminGet.MetricAsync(gw.Gateway.AdminEndpoint, "fastmcp_stdio_run_as_exposed_files{upstream=\"tool\"}"));
        }
        string[] warned = log.LinesWith("could read masking.fingerprintKeyFile");
        Assert.Single(warned);
        Assert.Contains("upstreams.tool.stdio.runAs", warned[0], StringComparison.Ordinal);
        Assert.DoesNotContain(key, log.Text, StringComparison.Ordinal);

        ConfigurationException refused = await Assert.ThrowsAsync<ConfigurationException>(() => PolicyGateway.StartAsync(UpstreamScripts.Echo, AllowAll, o =>
        {
            server.AddTo(o, adjust: stdio => stdio.RunAs = new StdioRunAsOptions { User = "nobody", RequireSecretIsolation = true });
            FingerprintKey(o, keyFile);
        }));
        Assert.Equal("upstreams.tool.stdio.runAs.requireSecretIsolation", refused.Field);
        Assert.Contains("could read masking.fingerprintKeyFile", refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(key, refused.Message, StringComparison.Ordinal);

        // Owner-only, the strict gateway starts and counts nothing.
        File.SetUnixFileMode(keyFile, (UnixFileMode)0b110_000_000);
        await using var strict = await PolicyGateway.StartAsync(UpstreamScripts.Echo, AllowAll, o =>
        {
            server.AddTo(o, adjust: stdio => stdio.RunAs = new StdioRunAsOptions { User = "nobody", RequireSecretIsolation = true });
            FingerprintKey(o, keyFile);
        });
        Assert.Equal(0, await AdminGet.MetricAsync(strict.Gateway.AdminEndpoint, "fastmcp_stdio_run_as_exposed_files{upstream=\"tool\"}"));
    }

    [RunAsNobodyFact]
    public async Task Run_as_the_gateways_own_user_is_allowed_with_a_warning_that_it_isolates_nothing()
    {
        using var server = new StdioServerFolder(Server);
        using var log = new CapturedLog();
        await using var gw = await PolicyGateway.StartAsync(UpstreamScripts.Echo, AllowAll,
            o => server.AddTo(o, adjust: stdio => stdio.RunAs = new StdioRunAsOptions { User = "0" }));
        Assert.Single(log.LinesWith("upstreams.tool.stdio.runAs: uid 0 is the gateway's own"));
        string alice = gw.Token("alice");
        using JsonDocument who = JsonDocument.Parse(await CallAsync(gw, alice, await OpenAsync(gw, alice), 2, "whoami", new { }));
        Assert.Equal(0, who.RootElement.GetProperty("uid").GetInt32());
        Assert.Equal([0], who.RootElement.GetProperty("groups").EnumerateArray().Select(g => g.GetInt32()).ToArray());
    }
}
