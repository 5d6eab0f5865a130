using System.Text.Json;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests;

/// <summary>
/// A client that stops reading held its response in memory: a JSON answer went to the client's send buffer whole,
/// however large. limits.maxBufferedResponseBytes bounds what the gateway holds toward one connection: past it the
/// gateway stops reading the upstream, and a client that takes nothing within timeouts.clientWriteMs loses the
/// exchange, recorded in the audit as abandoned.
/// </summary>
public sealed class BufferedResponseBoundTests
{
    private const long Bound = 256 * 1024;

    private static List<RuleOptions> AllowAll => [new RuleOptions { Name = "all", Action = "allow" }];

    private static async Task AssertBoundHeldAndExchangeAbandonedAsync(PolicyGateway gw)
    {
        string token = gw.Token("alice", "dev");
        // A small fixed receive buffer: with autotuning the kernel could take a 12 MiB answer whole (tcp_rmem up to
        // 32 MiB here), the gateway would then hold nothing and the bound would not be exercised.
        using RawClient client = await RawClient.ConnectAsync(gw.Gateway.Endpoint, receiveBufferBytes: 16 * 1024);
        await client.SendAsync(gw.Gateway.Post(GatewayUnderTest.ToolsList("1"), $"Authorization: Bearer {token}\r\nAccept: application/json, text/event-stream\r\n"));

        // The client never reads: within a bounded time the write timeout ends the exchange.
        FastMcp.Gateway.Admin.GatewayCounters counters = gw.Gateway.Host.Runtime.Counters;
        for (int i = 0; i < 300 && Volatile.Read(ref counters.ClientWriteTimeouts) == 0; i++) await Task.Delay(50);
        Assert.Equal(1, Volatile.Read(ref counters.ClientWriteTimeouts));

        long peak = Volatile.Read(ref counters.PeakBufferedResponseBytes);
        Assert.InRange(peak, 1, Bound);
        Assert.True(await client.DrainUntilGatewayClosesAsync(TimeSpan.FromSeconds(30)), "the stalled client's connection stays open");

        string[] audit = await gw.StopAndReadAuditAsync();
        string abandoned = Assert.Single(audit, line => line.Contains("response abandoned", StringComparison.Ordinal));
        using JsonDocument record = JsonDocument.Parse(abandoned);
        Assert.Contains("limits.maxBufferedResponseBytes " + Bound, record.RootElement.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task A_large_json_answer_to_a_client_that_stops_reading_stays_within_the_bound_and_is_abandoned()
    {
        // 12 MiB: far more than the bound and the loopback socket buffers.
        string big = new('x', 12 * 1024 * 1024);
        await using PolicyGateway gw = await PolicyGateway.StartAsync(
            x => x.RespondJsonAsync("{\"jsonrpc\":\"2.0\",\"id\":" + x.Request.IdJson() + ",\"result\":{\"tools\":[],\"pad\":\"" + big + "\"}}"),
            AllowAll,
            o =>
            {
                o.Limits.MaxBufferedResponseBytes = Bound;
                o.Timeouts.ClientWriteMs = 500;
            });
        await AssertBoundHeldAndExchangeAbandonedAsync(gw);
    }

    [Fact]
    public async Task An_event_stream_to_a_client_that_stops_reading_stays_within_the_bound_and_the_upstream_is_held_back()
    {
        string payload = new('x', 64 * 1024);
        int sent = 0;
        await using PolicyGateway gw = await PolicyGateway.StartAsync(async x =>
        {
            await x.StartEventStreamAsync();
            try
            {
                for (; sent < 2_000; sent++)
                    await x.SendEventAsync("data: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{\"level\":\"info\",\"data\":\"" + payload + "\"}}\n\n");
            }
            catch (Exception e) when (e is System.Net.Sockets.SocketException or IOException or OperationCanceledException)
            {
            }
        },
        AllowAll,
        o =>
        {
            o.Limits.MaxBufferedResponseBytes = Bound;
            o.Timeouts.ClientWriteMs = 500;
        });
        await AssertBoundHeldAndExchangeAbandonedAsync(gw);
        // Back-pressure: the upstream could not push its 125 MiB through a client that read nothing.
        Assert.InRange(Volatile.Read(ref sent), 0, 1_999);
    }

    [Fact]
    public async Task A_client_that_reads_gets_a_response_far_larger_than_the_bound_whole()
    {
        string big = new('y', 3 * 1024 * 1024);
        await using PolicyGateway gw = await PolicyGateway.StartAsync(
            x => x.RespondJsonAsync("{\"jsonrpc\":\"2.0\",\"id\":" + x.Request.IdJson() + ",\"result\":{\"tools\":[],\"pad\":\"" + big + "\"}}"),
            AllowAll,
            o => o.Limits.MaxBufferedResponseBytes = 64 * 1024);
        RawResponse response = await gw.PostAsync(GatewayUnderTest.ToolsList("2"), gw.Token("alice", "dev"));
        Assert.Equal(200, response.Status);
        using JsonDocument body = JsonDocument.Parse(response.Body);
        Assert.Equal(big.Length, body.RootElement.GetProperty("result").GetProperty("pad").GetString()!.Length);
        Assert.InRange(Volatile.Read(ref gw.Gateway.Host.Runtime.Counters.PeakBufferedResponseBytes), 1, 64 * 1024);
    }

    [Fact]
    public async Task A_client_that_pipelines_refused_calls_and_reads_nothing_loses_its_connection_after_the_write_timeout()
    {
        // The gateway's own answers (here policy refusals, which echo the request's id) were flushed with no
        // timeout: a client that pipelines requests and reads nothing held its connection open behind a blocked flush.
        await using PolicyGateway gw = await PolicyGateway.StartAsync(
            x => x.RespondJsonAsync("{\"jsonrpc\":\"2.0\",\"id\":" + x.Request.IdJson() + ",\"result\":{}}"),
            [new RuleOptions { Name = "nothing-allowed", Action = "deny" }],
            o =>
            {
                o.Limits.MaxBufferedResponseBytes = 64 * 1024;
                o.Timeouts.ClientWriteMs = 500;
            });
        string token = gw.Token("alice", "dev");
        string id = new('i', 900);
        byte[] one = System.Text.Encoding.UTF8.GetBytes(gw.Gateway.Post(
            "{\"jsonrpc\":\"2.0\",\"id\":\"" + id + "\",\"method\":\"tools/call\",\"params\":{\"name\":\"wire\",\"arguments\":{}}}",
            $"Authorization: Bearer {token}\r\nAccept: application/json, text/event-stream\r\n"));
        using RawClient client = await gw.Gateway.ConnectAsync();
        // About 30 MB of refusals: far more than the bound and the loopback socket buffers. Sent in the background,
        // since the gateway stops reading once it stops writing.
        using var stopSending = new CancellationTokenSource();
        Task sending = Task.Run(async () =>
        {
            try
            {
                for (int i = 0; i < 30_000 && !stopSending.IsCancellationRequested; i++) await client.SendAsync(one);
            }
            catch (Exception e) when (e is System.Net.Sockets.SocketException or IOException or OperationCanceledException or ObjectDisposedException)
            {
            }
        });

        FastMcp.Gateway.Admin.GatewayCounters counters = gw.Gateway.Host.Runtime.Counters;
        for (int i = 0; i < 600 && Volatile.Read(ref counters.ClientWriteTimeouts) == 0; i++) await Task.Delay(50);
        Assert.True(Volatile.Read(ref counters.ClientWriteTimeouts) >= 1, "the gateway still waits on a client that reads nothing");
        Assert.True(await client.DrainUntilGatewayClosesAsync(TimeSpan.FromSeconds(30)), "the stalled client's connection stays open");
        stopSending.Cancel();
        await sending.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(0, gw.Upstream.ConnectionsAccepted); // every call was refused: nothing reached the upstream
    }
}
