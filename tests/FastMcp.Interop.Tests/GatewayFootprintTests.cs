using System.Globalization;
using FastMcp.Interop.Tests.Harness;
using Xunit.Abstractions;

namespace FastMcp.Interop.Tests;

/// <summary>
/// The gateway's own account of itself on GET /metrics, and what it allocates per request in
/// steady state, read from its managed heap counter (so only the gateway's allocations count).
/// </summary>
[Collection(InteropCollection.Name)]
[Trait("Category", "E2E")]
public sealed class GatewayFootprintTests(InteropFixture fixture, ITestOutputHelper output)
{
    // Today about 7-9 B per call in pass-through and 90-120 B on the full pipeline, traced or not (over 2,000 calls;
    // server-everything answers with event streams). Before the client watch beside an event-stream response was
    // pooled it was 265-330 B in every mode (two state-machine boxes per call). The process-wide heap counter is
    // only exact to an allocation context. The bounds catch one async box, a buffer, a string copy of a body or a
    // per-request object graph creeping into the data path.
    private const double MaxBytesPerRequest = 256;
    private const double MaxBytesPerPassThroughRequest = 64;

    private static async Task<Dictionary<string, double>> MetricsAsync(GatewayProcess gateway)
    {
        var response = await McpWire.ExchangeAsync(new Uri(gateway.AdminUrl, "/metrics"), "GET", [], null);
        Assert.Equal(200, response.Status);
        Assert.StartsWith("text/plain", response.Head.Header("Content-Type"));
        var values = new Dictionary<string, double>();
        foreach (string line in response.Body.Split('\n'))
        {
            if (line.Length == 0 || line[0] == '#') continue;
            int space = line.LastIndexOf(' ');
            values[line[..space]] = double.Parse(line[(space + 1)..], CultureInfo.InvariantCulture);
        }
        return values;
    }

    [Fact]
    public async Task Steady_state_calls_allocate_little_in_the_gateway()
    {
        var gateway = await fixture.GatewayAsync();
        await MeasureAsync(gateway, MaxBytesPerRequest, expectAudit: true);
    }

    [Fact]
    public async Task Steady_state_calls_with_every_exchange_traced_allocate_as_little()
    {
        // Every exchange sampled (its spans recorded on the data path) and nothing exported during the measurement:
        // a batch never fills (records of 4 spans against an odd batch size) and the schedule is 10 minutes, so the
        // exporter thread, which may allocate (HTTP), stays out of the process-wide heap counter.
        string directory = Directory.CreateTempSubdirectory("fastmcp-traced-").FullName;
        string config = Path.Combine(directory, "fastmcp.json");
        File.WriteAllText(config, """
            {
              "policy": { "rules": [ { "name": "all", "action": "allow" } ] },
              "tracing": { "otlpEndpoint": "http://127.0.0.1:1/v1/traces", "sampleRatio": 1,
                           "maxQueueSize": 100001, "maxExportBatchSize": 100001, "scheduleDelayMs": 600000 }
            }
            """);
        try
        {
            using GatewayProcess gateway = await GatewayProcess.StartAsync(fixture.Upstream.McpUrl, "--config", config);
            Dictionary<string, double> after = await MeasureAsync(gateway, MaxBytesPerRequest, expectAudit: true);
            Assert.True(after["fastmcp_tracing_queue_spans"] >= 4 * 2500, "every call's spans were recorded");
            Assert.Equal(0, after["fastmcp_tracing_spans_dropped_total"]);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task Pass_through_allocates_next_to_nothing_per_call()
    {
        using GatewayProcess gateway = await GatewayProcess.StartAsync(fixture.Upstream.McpUrl, "--passthrough");
        await MeasureAsync(gateway, MaxBytesPerPassThroughRequest, expectAudit: false);
    }

    [Fact]
    public async Task Pass_through_over_tls_allocates_next_to_nothing_per_call()
    {
        // The listener terminates TLS (SslStream over the socket's own pipe, on the epoll loops): decrypting each
        // request and encrypting each answer must not bring a per-call buffer, box or task into the data path.
        using var tls = new GatewayTlsFiles();
        using GatewayProcess gateway = await GatewayProcess.StartAsync(fixture.Upstream.McpUrl, "--passthrough", "--config", tls.ConfigPath);
        Assert.Equal("https", gateway.McpUrl.Scheme);
        await MeasureAsync(gateway, MaxBytesPerPassThroughRequest, expectAudit: false);
    }

    private async Task<Dictionary<string, double>> MeasureAsync(GatewayProcess gateway, double bound, bool expectAudit)
    {
        string session = await McpWire.OpenSessionAsync(gateway.McpUrl);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await using var connection = await RawHttpConnection.ConnectAsync(gateway.McpUrl, cts.Token);

        async Task CallsAsync(int first, int count)
        {
            for (int id = first; id < first + count; id++)
            {
                await connection.SendAsync("POST", gateway.McpUrl.PathAndQuery, McpWire.Headers(session),
                    McpWire.ToolCallBody(id, "echo", """{"message":"steady state"}"""), cts.Token);
                var head = await connection.ReadResponseHeadAsync(cts.Token);
                string body = await connection.ReadBodyToEndAsync(head, "POST", cts.Token);
                Assert.Equal(200, head.Status);
                Assert.Contains("steady state", body);
            }
        }

        await CallsAsync(1000, 500); // warm: caches, pools (per thread too), tiered code
        Dictionary<string, double> before = await MetricsAsync(gateway);
        // Enough calls that the one /metrics rendering in the window (60-110 KB, and not the same twice) is small
        // against them: over 400 calls its variation alone moved the result by ±100 B/call.
        const int measured = 2000;
        await CallsAsync(10_000, measured);
        Dictionary<string, double> after = await MetricsAsync(gateway);
        // What rendering /metrics itself allocates (admin listener, not the data path): one more sample with no
        // call in between. The measured window contains one such rendering, which is taken off.
        Dictionary<string, double> again = await MetricsAsync(gateway);
        double rendering = Math.Max(0, again["fastmcp_gc_allocated_bytes_total"] - after["fastmcp_gc_allocated_bytes_total"]);

        double requests = after["fastmcp_requests_total"] - before["fastmcp_requests_total"];
        double bytes = after["fastmcp_gc_allocated_bytes_total"] - before["fastmcp_gc_allocated_bytes_total"] - rendering;
        // The two metrics requests are on the admin listener, not counted as MCP requests.
        Assert.Equal(measured, requests);
        double perRequest = bytes / requests;
        output.WriteLine($"{bytes:0} bytes over {requests} calls = {perRequest:0} B/call (one /metrics rendering, {rendering:0} B, taken off)");
        Assert.True(perRequest < bound, $"{perRequest:0} B allocated per call (bound {bound})");
        Assert.True(after["process_resident_memory_bytes"] > 0);
        Assert.Equal(expectAudit ? 1 : 0, after["fastmcp_audit_writable"]);
        return after;
    }
}
