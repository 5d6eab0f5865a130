using System.Security.Cryptography;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests;

/// <summary>
/// Nothing a remote party does writes a log line per request (docs/operations.md, "Logs"): a burst of a few hundred
/// triggers of one line leaves the first at once and a bounded few in the log, and its metric counts every one.
/// Through the real gateway: its admin listener, its stdio bridge and server processes, its MCP listener.
/// </summary>
[Collection(LogOutputCollection.Name)]
public sealed class RemoteLogFloodTests
{
    private const int Burst = 300;

    // StdioEvents.Burst(StdioEvent.StderrLine): the stderr lines of one stdio upstream written per interval.
    private const int StderrLinesPerInterval = 50;

    private static readonly List<RuleOptions> AllowAll = [new RuleOptions { Name = "all", Action = "allow", Methods = ["*"] }];

    private const string Initialize =
        """{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}""";

    [Fact]
    public async Task Peer_requests_not_signed_with_the_peer_key_write_one_line_and_are_all_counted()
    {
        using var keys = new ReplicaKeys();
        using var log = new CapturedLog();
        await using var gw = await PolicyGateway.StartAsync(UpstreamScripts.Echo, AllowAll, o =>
        {
            o.Masking.FingerprintKeyFile = keys.PanKeyFile;
            // A peer to name; nothing here asks it.
            o.Approvals.Peers.Urls = ["http://127.0.0.1:9"];
        });
        const string Line = "refused: not signed with the peer key";

        Assert.Equal(401, (await UnsignedPeerRequestAsync(gw.Gateway)).Status);
        // The first is written at once.
        Assert.Single(log.LinesWith(Line));
        for (int i = 1; i < Burst; i++) Assert.Equal(401, (await UnsignedPeerRequestAsync(gw.Gateway)).Status);

        string[] lines = log.LinesWith(Line);
        // One per 10 s: a second only if the burst outlasted an interval, and then it says what it stood for.
        Assert.True(lines.Length <= 3, $"{lines.Length} lines for {Burst} unsigned peer requests");
        for (int i = 1; i < lines.Length; i++) Assert.Contains("more like it since the last such line", lines[i], StringComparison.Ordinal);
        Assert.Equal(Burst, await AdminGet.MetricAsync(gw.Gateway.AdminEndpoint, "fastmcp_approval_peer_requests_refused_total{reason=\"signature\"}"));
    }

    /// <summary>Well-formed peer fields and a fresh timestamp, under a MAC of no key.</summary>
    private static async Task<RawResponse> UnsignedPeerRequestAsync(GatewayUnderTest gw)
    {
        using RawClient admin = await RawClient.ConnectAsync(gw.AdminEndpoint);
        string instance = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        string nonce = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        long now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        await admin.SendAsync($"POST /peer/v1/lookup HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\n"
            + $"X-FastMcp-Peer-Instance: {instance}\r\nX-FastMcp-Peer-Timestamp: {now}\r\nX-FastMcp-Peer-Nonce: {nonce}\r\n"
            + $"X-FastMcp-Peer-Signature: v1={new string('0', 64)}\r\nContent-Length: 2\r\n\r\n{{}}");
        return await admin.ReadResponseAsync("the answer to an unsigned peer request");
    }

    /// <summary>On a tools/call, writes the number of lines its arguments ask for to stdout (not JSON-RPC) and to stderr, then answers.</summary>
    private const string NoisyServer = """
        const lines = require('readline').createInterface({ input: process.stdin });
        lines.on('line', line => {
          const m = JSON.parse(line);
          if (m.id === undefined) return;
          if (m.method === 'tools/call') {
            const n = m.params.arguments.lines;
            let out = '', err = '';
            for (let i = 0; i < n; i++) { out += 'debug: handling call ' + i + '\n'; err += 'noisy-stderr ' + i + '\n'; }
            process.stdout.write(out);
            process.stderr.write(err);
          }
          const result = m.method === 'initialize'
            ? { protocolVersion: '2025-06-18', capabilities: { tools: {} }, serverInfo: { name: 'noisy', version: '1' } }
            : { content: [] };
          process.stdout.write(JSON.stringify({ jsonrpc: '2.0', id: m.id, result }) + '\n');
        });
        """;

    private static async Task<string> OpenSessionAsync(PolicyGateway gw, string token)
    {
        RawResponse opened = await gw.PostAsync(Initialize, token, "", StdioServerFolder.Route);
        Assert.Equal(200, opened.Status);
        return $"Mcp-Session-Id: {opened.Header("Mcp-Session-Id")}\r\nMCP-Protocol-Version: 2025-06-18\r\n";
    }

    private static string NoisyCall(int id, int lines) =>
        "{\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"method\":\"tools/call\",\"params\":{\"name\":\"noisy\",\"arguments\":{\"lines\":" + lines + "}}}";

    [Fact]
    public async Task A_stdio_server_writing_lines_that_are_not_messages_writes_one_log_line_and_every_one_is_counted()
    {
        using var server = new StdioServerFolder(NoisyServer);
        using var log = new CapturedLog();
        await using var gw = await PolicyGateway.StartAsync(UpstreamScripts.Echo, AllowAll, o => server.AddTo(o));
        string alice = gw.Token("alice");
        string session = await OpenSessionAsync(gw, alice);
        const string Line = "ignored a stdout line that is not one JSON-RPC message";
        const string Series = "fastmcp_stdio_events_total{upstream=\"tool\",event=\"invalid_line\"}";

        // The server writes its stray lines before its answer, and the gateway reads its stdout in order: by the answer, all were read.
        Assert.Equal(200, (await gw.PostAsync(NoisyCall(2, 1), alice, session, StdioServerFolder.Route)).Status);
        Assert.Single(log.LinesWith(Line));
        Assert.Equal(200, (await gw.PostAsync(NoisyCall(3, Burst - 1), alice, session, StdioServerFolder.Route)).Status);

        string[] lines = log.LinesWith(Line);
        Assert.True(lines.Length <= 3, $"{lines.Length} lines for {Burst} stray stdout lines");
        for (int i = 1; i < lines.Length; i++) Assert.Contains("more like it since the last such line", lines[i], StringComparison.Ordinal);
        Assert.Equal(Burst, await AdminGet.MetricAsync(gw.Gateway.AdminEndpoint, Series));
    }

    [Fact]
    public async Task A_stdio_server_logging_every_call_to_stderr_writes_a_bounded_number_of_log_lines_and_every_one_is_counted()
    {
        using var server = new StdioServerFolder(NoisyServer);
        using var log = new CapturedLog();
        await using var gw = await PolicyGateway.StartAsync(UpstreamScripts.Echo, AllowAll, o => server.AddTo(o));
        string alice = gw.Token("alice");
        string session = await OpenSessionAsync(gw, alice);
        const string Series = "fastmcp_stdio_events_total{upstream=\"tool\",event=\"stderr_line\"}";

        Assert.Equal(200, (await gw.PostAsync(NoisyCall(2, Burst), alice, session, StdioServerFolder.Route)).Status);
        // stderr is read apart from stdout: wait (bounded) until the gateway has read every line of it.
        long counted = 0;
        for (int i = 0; i < 200 && counted < Burst; i++)
        {
            counted = await AdminGet.MetricAsync(gw.Gateway.AdminEndpoint, Series);
            if (counted < Burst) await Task.Delay(50);
        }
        Assert.Equal(Burst, counted);

        string[] lines = log.LinesWith("noisy-stderr");
        // The first lines of the server's story are whole (50 per interval, so a start or a stack trace reads as written);
        // past them, only counted. Two intervals at most on the slowest run.
        Assert.Contains(lines, l => l.EndsWith("stderr: noisy-stderr 0", StringComparison.Ordinal));
        Assert.True(lines.Length <= 2 * StderrLinesPerInterval, $"{lines.Length} log lines for {Burst} stderr lines");
    }

    [Fact]
    public async Task Requests_to_the_stdio_bridge_without_the_gateways_secret_write_one_line_and_are_all_counted()
    {
        using var server = new StdioServerFolder(NoisyServer);
        using var log = new CapturedLog();
        await using var gw = await PolicyGateway.StartAsync(UpstreamScripts.Echo, AllowAll, o => server.AddTo(o));
        System.Net.IPEndPoint bridge = gw.Gateway.StdioBridges["tool"].LocalEndPoint;
        const string Line = "refused a request to the stdio bridge";

        Assert.Equal(403, (await WithoutSecretAsync(bridge)).Status);
        Assert.Single(log.LinesWith(Line));
        for (int i = 1; i < Burst; i++) Assert.Equal(403, (await WithoutSecretAsync(bridge)).Status);

        string[] lines = log.LinesWith(Line);
        Assert.True(lines.Length <= 3, $"{lines.Length} lines for {Burst} requests without the secret");
        for (int i = 1; i < lines.Length; i++) Assert.Contains("more like it since the last such line", lines[i], StringComparison.Ordinal);
        Assert.Equal(Burst, await AdminGet.MetricAsync(gw.Gateway.AdminEndpoint, "fastmcp_stdio_events_total{upstream=\"tool\",event=\"bridge_refused\"}"));
    }

    private static async Task<RawResponse> WithoutSecretAsync(System.Net.IPEndPoint bridge)
    {
        using RawClient other = await RawClient.ConnectAsync(bridge);
        await other.SendAsync($"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {Initialize.Length}\r\n\r\n{Initialize}");
        return await other.ReadResponseAsync("the bridge's refusal");
    }

    [Fact]
    public async Task A_client_asking_for_approval_again_and_again_writes_one_line_and_every_request_is_counted()
    {
        const int Calls = 200;
        List<RuleOptions> rules =
        [
            new RuleOptions { Name = "pay-grant", Action = "require_approval", Methods = ["tools/call"], Names = ["pay"], Approvers = ["release"], ApprovalMode = "grant" },
            new RuleOptions { Name = "rest", Action = "allow" },
        ];
        using var log = new CapturedLog();
        await using var gw = await PolicyGateway.StartAsync(UpstreamScripts.Echo, rules, o =>
        {
            o.Approvals.MaxPending = Calls;
            o.Approvals.MaxPendingPerSubject = Calls;
        });
        string mallory = gw.Token("mallory");
        const string Line = "mallory asks for tools/call pay";

        for (int i = 0; i < Calls; i++)
        {
            // Other arguments each time: each call is a new approval, not the pending one again.
            RawResponse r = await gw.PostAsync("{\"jsonrpc\":\"2.0\",\"id\":" + i + ",\"method\":\"tools/call\",\"params\":{\"name\":\"pay\",\"arguments\":{\"n\":" + i + "}}}", mallory);
            Assert.Equal(200, r.Status);
            Assert.Contains("-32002", r.Body, StringComparison.Ordinal);
            if (i == 0) Assert.Single(log.LinesWith(Line));
        }

        string[] lines = log.LinesWith(Line);
        Assert.True(lines.Length <= 3, $"{lines.Length} lines for {Calls} approval requests");
        Assert.Equal(Calls, await AdminGet.MetricAsync(gw.Gateway.AdminEndpoint, "fastmcp_approvals_requested_total"));
    }
}
