using System.Net;
using System.Net.Sockets;
using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Hosting;
using FastMcp.Gateway.Tests.Support;

namespace FastMcp.Gateway.Tests.Routing;

/// <summary>
/// Health per upstream (docs/operations.md): a failed connect marks an upstream down, /readyz lists it and stays ready
/// while another is up, fastmcp_upstream_up says so per upstream, and the probe brings it back once it accepts again.
/// </summary>
public sealed class UpstreamHealthTests
{
    private static string Call(int id) => "{\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"method\":\"tools/call\",\"params\":{\"name\":\"t\",\"arguments\":{}}}";

    private static async Task<RawResponse> PostAsync(IPEndPoint ep, string path, int id)
    {
        using RawClient c = await RawClient.ConnectAsync(ep);
        string json = Call(id);
        await c.SendAsync($"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{ep.Port}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: {json.Length}\r\n\r\n{json}");
        return await c.ReadResponseAsync();
    }

    private static async Task<RawResponse> ReadyzAsync(IPEndPoint admin)
    {
        using RawClient c = await RawClient.ConnectAsync(admin);
        await c.SendAsync("GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
        return await c.ReadResponseAsync();
    }

    [Fact]
    public async Task A_down_upstream_is_listed_while_the_gateway_stays_ready_and_comes_back_when_it_accepts_again()
    {
        int downPort = UnusedPort.Pick();
        await using var up = new ScriptedUpstream(UpstreamScripts.Echo);
        await using var gw = GatewayUnderTest.Start(up.Url, o =>
        {
            o.Upstreams["payments"] = new UpstreamOptions { Url = $"http://127.0.0.1:{downPort}/mcp", ConnectTimeoutMs = 1_000, ProbeIntervalMs = 50 };
            o.Routes = [new RouteOptions { Path = "/mcp/payments", Upstream = "payments" }];
        });

        // Unknown at start counts as up.
        Assert.Equal("""{"status":"ok"}""", (await ReadyzAsync(gw.AdminEndpoint)).Body);
        Assert.Equal(502, (await PostAsync(gw.Endpoint, "/mcp/payments", 1)).Status);

        RawResponse ready = await ReadyzAsync(gw.AdminEndpoint);
        Assert.Equal(200, ready.Status);
        Assert.Equal("""{"status":"ok","upstreamsDown":[{"name":"payments","reason":"connect failed while forwarding"}]}""", ready.Body);
        string metrics = await AdminGet.TextAsync(gw.AdminEndpoint, "/metrics");
        Assert.Contains("fastmcp_upstream_up{upstream=\"payments\"} 0\n", metrics);
        Assert.Contains("fastmcp_upstream_up{upstream=\"default\"} 1\n", metrics);
        // The default route keeps serving meanwhile.
        Assert.Equal(200, (await PostAsync(gw.Endpoint, "/mcp", 2)).Status);

        var back = new TcpListener(IPAddress.Loopback, downPort);
        back.Start();
        try
        {
            for (int i = 0; i < 200 && (await ReadyzAsync(gw.AdminEndpoint)).Body != """{"status":"ok"}"""; i++) await Task.Delay(25);
            Assert.Equal("""{"status":"ok"}""", (await ReadyzAsync(gw.AdminEndpoint)).Body);
            Assert.Contains("fastmcp_upstream_up{upstream=\"payments\"} 1\n", await AdminGet.TextAsync(gw.AdminEndpoint, "/metrics"));
        }
        finally
        {
            back.Stop();
        }
    }

    [Fact]
    public async Task With_every_upstream_down_the_gateway_is_not_ready()
    {
        int downPort = UnusedPort.Pick();
        var options = new GatewayOptions { Listen = ["127.0.0.1:0"], Admin = new AdminOptions { Listen = "127.0.0.1:0" } };
        options.Upstreams["only"] = new UpstreamOptions { Url = $"http://127.0.0.1:{downPort}/mcp", ConnectTimeoutMs = 1_000, ProbeIntervalMs = 0 };
        options.Routes = [new RouteOptions { Path = "/mcp", Upstream = "only" }];
        ConfigurationLoader.Validate(options);
        await using var host = new GatewayHost(options, upstream: null, new GatewayStages());

        Assert.Equal(502, (await PostAsync(host.Endpoints[0], "/mcp", 1)).Status);

        RawResponse ready = await ReadyzAsync(host.AdminEndpoint!);
        Assert.Equal(503, ready.Status);
        Assert.Equal("""{"status":"not ready","reason":"no upstream is up","upstreamsDown":[{"name":"only","reason":"connect failed while forwarding"}]}""", ready.Body);
    }
}
