using System.Net.Sockets;
using FastMcp.Gateway.Tests.Support;

namespace FastMcp.Gateway.Tests;

/// <summary>Health endpoints, and the graceful stop: in-flight exchanges finish, new connections are refused.</summary>
public sealed class AdminAndShutdownTests
{
    [Theory]
    [InlineData("/healthz")]
    [InlineData("/readyz")]
    public async Task Admin_health_endpoints_answer_200(string path)
    {
        await using var upstream = new ScriptedUpstream(UpstreamScripts.Echo);
        await using var gateway = GatewayUnderTest.Start(upstream.Url);
        using RawClient admin = await RawClient.ConnectAsync(gateway.AdminEndpoint);

        await admin.SendAsync($"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
        RawResponse response = await admin.ReadResponseAsync();

        Assert.Equal(200, response.Status);
        Assert.Contains("ok", response.Body, StringComparison.Ordinal);
    }

    /// <summary>An upstream that holds every answer until the test releases it.</summary>
    private sealed class HeldUpstream
    {
        public readonly TaskCompletionSource Received = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public readonly TaskCompletionSource Release = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public async Task Script(UpstreamExchange x)
        {
            Received.TrySetResult();
            await Release.Task.WaitAsync(TimeSpan.FromSeconds(10), x.Stopping);
            await UpstreamScripts.Echo(x);
        }
    }

    [Fact]
    public async Task Readyz_is_503_once_stop_began()
    {
        var held = new HeldUpstream();
        await using var upstream = new ScriptedUpstream(held.Script);
        await using var gateway = GatewayUnderTest.Start(upstream.Url);
        using RawClient client = await gateway.ConnectAsync();
        await client.SendAsync(gateway.Post(GatewayUnderTest.ToolsList("1")));
        await held.Received.Task.WaitAsync(TimeSpan.FromSeconds(10));

        Task stop = gateway.Host.StopAsync(TimeSpan.FromSeconds(10));
        RawResponse ready;
        try
        {
            using RawClient admin = await RawClient.ConnectAsync(gateway.AdminEndpoint);
            await admin.SendAsync("GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
            ready = await admin.ReadResponseAsync("/readyz while draining");
        }
        finally
        {
            held.Release.TrySetResult();
            await stop.WaitAsync(TimeSpan.FromSeconds(15));
        }

        Assert.Equal(503, ready.Status);
    }

    [Fact]
    public async Task Graceful_stop_completes_the_in_flight_exchange_and_refuses_new_connections()
    {
        var held = new HeldUpstream();
        await using var upstream = new ScriptedUpstream(held.Script);
        await using var gateway = GatewayUnderTest.Start(upstream.Url);
        using RawClient client = await gateway.ConnectAsync();
        using RawClient idle = await gateway.ConnectAsync();
        await client.SendAsync(gateway.Post(GatewayUnderTest.ToolsList("\"in-flight\"")));
        await held.Received.Task.WaitAsync(TimeSpan.FromSeconds(10));

        Task stop = gateway.Host.StopAsync(TimeSpan.FromSeconds(10));
        try
        {
            // The listener is closed at once: a new client cannot even connect.
            await Assert.ThrowsAnyAsync<SocketException>(async () =>
            {
                using RawClient late = await gateway.ConnectAsync();
            });
            // An idle keep-alive connection is closed without waiting for the deadline.
            Assert.True(await idle.GatewayClosesAsync(TimeSpan.FromSeconds(5)), "an idle connection should be closed when stop begins");
            Assert.False(stop.IsCompleted, "StopAsync must wait for the in-flight exchange");
        }
        finally
        {
            held.Release.TrySetResult();
        }

        RawResponse response = await client.ReadResponseAsync("the in-flight answer after stop began");
        await stop.WaitAsync(TimeSpan.FromSeconds(15));

        Assert.Equal(200, response.Status);
        Assert.Equal("\"in-flight\"", response.IdJson());
        Assert.Equal("close", response.Header("Connection"));
        Assert.True(await client.GatewayClosesAsync(), "the connection should close after its last exchange during stop");
        Assert.Equal(0, gateway.Host.OpenConnections);
    }

    [Fact]
    public async Task An_admin_connection_that_stays_silent_or_never_finishes_its_head_is_closed_and_counted()
    {
        await using var upstream = new ScriptedUpstream(UpstreamScripts.Echo);
        await using var gateway = GatewayUnderTest.Start(upstream.Url, o =>
        {
            o.Timeouts.FirstRequestMs = 300;
            o.Timeouts.RequestHeadersMs = 300;
        });
        using RawClient silent = await RawClient.ConnectAsync(gateway.AdminEndpoint);
        using RawClient slow = await RawClient.ConnectAsync(gateway.AdminEndpoint);
        await slow.SendAsync("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n");

        Assert.True(await silent.GatewayClosesAsync(TimeSpan.FromSeconds(5)), "a connection that sends nothing should be closed");
        Assert.True(await slow.DrainUntilGatewayClosesAsync(TimeSpan.FromSeconds(5)), "a head that never ends should be closed");
        Assert.Equal(2, await AdminGet.MetricAsync(gateway.AdminEndpoint, "fastmcp_admin_connections_timed_out_total"));
    }

    [Theory]
    [InlineData(null)] // the default, 64
    [InlineData(5)]
    public async Task The_admin_listener_holds_at_most_admin_maxConnections_and_closes_the_rest_counted(int? configured)
    {
        await using var upstream = new ScriptedUpstream(UpstreamScripts.Echo);
        await using var gateway = GatewayUnderTest.Start(upstream.Url, o =>
        {
            if (configured is { } bound) o.Admin.MaxConnections = bound;
        });
        int max = configured ?? 64;
        var held = new List<RawClient>();
        try
        {
            for (int i = 0; i < max; i++)
            {
                RawClient c = await RawClient.ConnectAsync(gateway.AdminEndpoint);
                held.Add(c);
                // Each is taken in before the next: the bound counts connections being served.
                await c.SendAsync("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
                Assert.Equal(200, (await c.ReadResponseAsync("/healthz")).Status);
            }
            using RawClient extra = await RawClient.ConnectAsync(gateway.AdminEndpoint);
            Assert.True(await extra.GatewayClosesAsync(TimeSpan.FromSeconds(5)), $"connection {max + 1} is past the bound and should be closed");
            // One held connection let go makes room again: the bound counts open connections, not a total.
            held[0].Dispose();
            held.RemoveAt(0);
            RawResponse again = await RetryUntilServedAsync(gateway);
            Assert.Equal(200, again.Status);
            Assert.Contains($"because admin.maxConnections ({max}) were open", again.Body, StringComparison.Ordinal);
            // At least the one past the bound (a retry above may have come before the listener saw the release).
            Assert.True(RefusedCount(again.Body) >= 1, again.Body);
        }
        finally
        {
            foreach (RawClient c in held) c.Dispose();
        }
    }

    private static long RefusedCount(string metrics)
    {
        const string series = "fastmcp_admin_connections_refused_total ";
        foreach (string line in metrics.Split('\n'))
            if (line.StartsWith(series, StringComparison.Ordinal)) return long.Parse(line.AsSpan(series.Length), System.Globalization.CultureInfo.InvariantCulture);
        return -1;
    }

    /// <summary>GET /metrics on a fresh connection, retried (bounded) until the listener saw a released connection close.</summary>
    private static async Task<RawResponse> RetryUntilServedAsync(GatewayUnderTest gateway)
    {
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                return await AdminGet.ResponseAsync(gateway.AdminEndpoint, "/metrics");
            }
            catch (Exception e) when (attempt < 50 && e is IOException or SocketException or TimeoutException or Xunit.Sdk.XunitException or InvalidOperationException)
            {
                await Task.Delay(100);
            }
        }
    }

    [Fact]
    public async Task The_admin_listener_refuses_a_smuggled_request_and_an_oversized_head_and_closes()
    {
        await using var upstream = new ScriptedUpstream(UpstreamScripts.Echo);
        await using var gateway = GatewayUnderTest.Start(upstream.Url);
        using (RawClient smuggler = await RawClient.ConnectAsync(gateway.AdminEndpoint))
        {
            await smuggler.SendAsync("POST /approvals HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
            Assert.Equal(400, (await smuggler.ReadResponseAsync("the refusal")).Status);
            Assert.True(await smuggler.DrainUntilGatewayClosesAsync(TimeSpan.FromSeconds(5)), "the smuggled GET must not be answered");
        }
        using RawClient big = await RawClient.ConnectAsync(gateway.AdminEndpoint);
        await big.SendAsync("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: " + new string('a', 64 * 1024) + "\r\n\r\n");
        // Answered as the MCP listener answers its own limit, then closed: nothing past limits.maxHeadBytes is held.
        RawResponse refused = await big.ReadResponseAsync("the 431");
        Assert.Equal(431, refused.Status);
        Assert.Equal("close", refused.Header("Connection"));
        Assert.True(await big.DrainUntilGatewayClosesAsync(TimeSpan.FromSeconds(5)));
    }
}
