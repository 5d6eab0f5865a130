using System.Net;
using System.Text;
using System.Text.Json;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests.Clients;

/// <summary>
/// A listener behind a TCP load balancer with clientAddress.proxyProtocol: each connection starts with a PROXY
/// header (v1 text or v2 binary) naming the real client; the audit records it and the balancer as the hop. A
/// connection without a valid header is closed and counted, never served as if it came from the balancer.
/// </summary>
public sealed class ProxyProtocolTests
{
    private const string Call = """{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}""";

    private static Task<PolicyGateway> StartAsync(Action<Configuration.GatewayOptions>? more = null) =>
        PolicyGateway.StartAsync(x => x.RespondJsonAsync("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"tools\":[]}}"),
            [new RuleOptions { Name = "all", Action = "allow" }], o =>
            {
                o.ClientAddress.ProxyProtocol = true;
                o.ClientAddress.ProxyProtocolTimeoutMs = 500;
                more?.Invoke(o);
            });

    private static async Task<RawResponse> PostAfterAsync(PolicyGateway gw, byte[] proxyHeader)
    {
        using RawClient client = await gw.Gateway.ConnectAsync();
        byte[] request = Encoding.UTF8.GetBytes(gw.Gateway.Post(Call, $"Authorization: Bearer {gw.Token("alice")}\r\n"));
        await client.SendAsync([.. proxyHeader, .. request]);
        return await client.ReadResponseAsync();
    }

    private static byte[] V2(byte command, byte family, byte[] payload)
    {
        byte[] header = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A, (byte)(0x20 | command), family,
            (byte)(payload.Length >> 8), (byte)payload.Length];
        return [.. header, .. payload];
    }

    private static JsonElement[] Origins(string[] audit) =>
        [.. audit.Select(l => JsonDocument.Parse(l).RootElement)
            .Where(r => r.GetProperty("type").GetString() == "McpExchange")
            .Select(r => r.GetProperty("origin").Clone())];

    [Fact]
    public async Task A_v1_header_names_the_client_and_the_balancer_is_recorded_as_the_hop()
    {
        await using var gw = await StartAsync();

        RawResponse r = await PostAfterAsync(gw, "PROXY TCP4 203.0.113.9 10.0.0.1 51234 8080\r\n"u8.ToArray());

        Assert.Equal(200, r.Status);
        Assert.Equal("203.0.113.9", gw.Upstream.SingleRequest().Header("X-Forwarded-For"));
        Assert.All(Origins(await gw.StopAndReadAuditAsync()), o =>
        {
            Assert.Equal("203.0.113.9", o.GetProperty("address").GetString());
            Assert.Equal("127.0.0.1", o.GetProperty("hop").GetString());
        });
    }

    [Fact]
    public async Task A_v2_header_with_an_ipv6_source_and_tlvs_names_the_client()
    {
        await using var gw = await StartAsync();
        byte[] src = IPAddress.Parse("2001:db8::42").GetAddressBytes(), dst = IPAddress.Parse("2001:db8::1").GetAddressBytes();
        byte[] tlv = [0x04, 0x00, 0x03, 0x61, 0x62, 0x63]; // PP2_TYPE_NOOP, 3 bytes

        RawResponse r = await PostAfterAsync(gw, V2(1, 0x21, [.. src, .. dst, 0xC8, 0x22, 0x1F, 0x90, .. tlv]));

        Assert.Equal(200, r.Status);
        Assert.Equal("2001:db8::42", gw.Upstream.SingleRequest().Header("X-Forwarded-For"));
    }

    [Fact]
    public async Task A_v2_local_header_keeps_the_socket_peer()
    {
        await using var gw = await StartAsync();

        RawResponse r = await PostAfterAsync(gw, V2(0, 0x00, []));

        Assert.Equal(200, r.Status);
        Assert.Equal("127.0.0.1", gw.Upstream.SingleRequest().Header("X-Forwarded-For"));
    }

    [Theory]
    [InlineData("")]                                                    // absent: the request itself comes first
    [InlineData("PROXY TCP4 203.0.113.9 10.0.0.1 51234\r\n")]           // a field missing
    [InlineData("PROXY TCP4 2001:db8::1 10.0.0.1 51234 8080\r\n")]      // family and address disagree
    [InlineData("PROXY TCP4 203.0.113 10.0.0.1 51234 8080\r\n")]        // not a full address
    [InlineData("PROXY TCP4 203.0.113.9 10.0.0.1 051234 8080\r\n")]     // not a port
    [InlineData("PROXY TCP4 203.0.113.9 10.0.0.1 51234 8080\n")]        // LF without CR
    public async Task A_connection_without_a_valid_header_is_closed_and_counted(string header)
    {
        await using var gw = await StartAsync();

        using (RawClient client = await gw.Gateway.ConnectAsync())
        {
            await client.SendAsync(header + gw.Gateway.Post(Call, $"Authorization: Bearer {gw.Token("alice")}\r\n"));
            Assert.True(await client.GatewayClosesAsync(TimeSpan.FromSeconds(5)));
        }

        Assert.Empty(gw.Upstream.Requests);
        string metrics = await AdminGet.TextAsync(gw.Gateway.AdminEndpoint, "/metrics");
        Assert.Contains("fastmcp_proxy_protocol_refused_total 1\n", metrics);
    }

    [Fact]
    public async Task An_overlong_v1_line_and_an_oversized_v2_header_are_refused_without_waiting_for_more()
    {
        await using var gw = await StartAsync(o => o.ClientAddress.ProxyProtocolTimeoutMs = 30_000);

        using (RawClient client = await gw.Gateway.ConnectAsync())
        {
            await client.SendAsync("PROXY TCP4 " + new string('1', 200));
            Assert.True(await client.GatewayClosesAsync(TimeSpan.FromSeconds(5)));
        }
        using (RawClient client = await gw.Gateway.ConnectAsync())
        {
            byte[] v2 = V2(1, 0x11, new byte[12]);
            v2[14] = 0xFF; v2[15] = 0xFF; // declares 65535 bytes
            await client.SendAsync(v2);
            Assert.True(await client.GatewayClosesAsync(TimeSpan.FromSeconds(5)));
        }
        string metrics = await AdminGet.TextAsync(gw.Gateway.AdminEndpoint, "/metrics");
        Assert.Contains("fastmcp_proxy_protocol_refused_total 2\n", metrics);
    }

    [Fact]
    public async Task A_header_that_never_completes_is_refused_at_the_timeout()
    {
        await using var gw = await StartAsync();

        using RawClient client = await gw.Gateway.ConnectAsync();
        await client.SendAsync("PROXY TCP4 203.0.113.9 ");
        Assert.True(await client.GatewayClosesAsync(TimeSpan.FromSeconds(5)));
    }
}
