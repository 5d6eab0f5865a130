using System.Text.Json;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests.Clients;

/// <summary>
/// Behind a proxy every request came from the proxy's address: the audit and the rate limits saw the proxy, not
/// the client. A trusted proxy's forwarding header now names the client (walked right to left past trusted hops);
/// an untrusted peer's header is never believed.
/// </summary>
public sealed class ClientAddressTests
{
    private const string Call = """{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}""";

    private static Task<PolicyGateway> StartAsync(Action<Configuration.GatewayOptions> configure) =>
        PolicyGateway.StartAsync(x => x.RespondJsonAsync("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"tools\":[]}}"),
            [new RuleOptions { Name = "all", Action = "allow" }], configure);

    private static JsonElement[] Origins(string[] audit) =>
        [.. audit.Select(l => JsonDocument.Parse(l).RootElement)
            .Where(r => r.GetProperty("type").GetString() == "McpExchange")
            .Select(r => r.GetProperty("origin").Clone())];

    [Fact]
    public async Task A_trusted_proxy_chain_names_the_client_and_the_audit_records_it_with_the_hop()
    {
        await using var gw = await StartAsync(o => o.ClientAddress.TrustedProxies = ["127.0.0.1", "10.0.0.0/8"]);

        // The client spoofed a first element; the outer proxy (10.1.2.3) appended the address it saw.
        RawResponse r = await gw.PostAsync(Call, gw.Token("alice"), "X-Forwarded-For: 198.51.100.66, 203.0.113.9\r\nX-Forwarded-For: 10.1.2.3\r\n");
        Assert.Equal(200, r.Status);

        Assert.Equal("203.0.113.9", gw.Upstream.SingleRequest().Header("X-Forwarded-For"));
        JsonElement[] origins = Origins(await gw.StopAndReadAuditAsync());
        Assert.NotEmpty(origins);
        Assert.All(origins, o =>
        {
            Assert.Equal("203.0.113.9", o.GetProperty("address").GetString());
            Assert.Equal("127.0.0.1", o.GetProperty("hop").GetString());
        });
    }

    [Fact]
    public async Task A_forwarding_header_from_an_untrusted_peer_is_not_believed()
    {
        await using var gw = await StartAsync(o => o.ClientAddress.TrustedProxies = ["10.0.0.0/8"]);

        RawResponse r = await gw.PostAsync(Call, gw.Token("alice"), "X-Forwarded-For: 203.0.113.9\r\nForwarded: for=203.0.113.10\r\n");
        Assert.Equal(200, r.Status);

        // Upstream gets the gateway's own header, naming the peer; the client's headers are dropped.
        UpstreamRequest up = gw.Upstream.SingleRequest();
        Assert.Equal("127.0.0.1", up.Header("X-Forwarded-For"));
        Assert.Null(up.Header("Forwarded"));
        JsonElement[] origins = Origins(await gw.StopAndReadAuditAsync());
        Assert.All(origins, o =>
        {
            Assert.Equal("127.0.0.1", o.GetProperty("address").GetString());
            Assert.False(o.TryGetProperty("hop", out _));
        });
    }

    [Fact]
    public async Task Rfc7239_forwarded_is_read_when_configured_and_x_forwarded_for_is_then_ignored()
    {
        await using var gw = await StartAsync(o =>
        {
            o.ClientAddress.TrustedProxies = ["127.0.0.0/8"];
            o.ClientAddress.ForwardedHeader = "forwarded";
        });

        await gw.PostAsync(Call, gw.Token("alice"),
            "X-Forwarded-For: 198.51.100.1\r\nForwarded: for=\"[2001:db8::7]:4711\";proto=https, For=127.0.0.5;by=127.0.0.1\r\n");

        Assert.Equal("2001:db8::7", gw.Upstream.SingleRequest().Header("X-Forwarded-For"));
        Assert.All(Origins(await gw.StopAndReadAuditAsync()), o => Assert.Equal("2001:db8::7", o.GetProperty("address").GetString()));
    }

    [Theory]
    [InlineData("unknown, 203.0.113.9", "203.0.113.9")]          // the walk stops at the first untrusted address
    [InlineData("203.0.113.9, _hidden", "127.0.0.1")]          // an obfuscated hop: only the trusted peer is known
    [InlineData("10.7", "127.0.0.1")]                           // not a full address: not believed
    [InlineData("203.0.113.9:5555", "203.0.113.9")]             // a port is dropped
    [InlineData("10.0.0.1, 10.0.0.2", "10.0.0.1")]              // all hops trusted: the farthest is the client
    public async Task Elements_that_are_not_addresses_end_the_walk_at_the_last_trusted_hop(string header, string client)
    {
        await using var gw = await StartAsync(o => o.ClientAddress.TrustedProxies = ["127.0.0.1", "10.0.0.0/8"]);

        await gw.PostAsync(Call, gw.Token("alice"), $"X-Forwarded-For: {header}\r\n");

        Assert.Equal(client, gw.Upstream.SingleRequest().Header("X-Forwarded-For"));
    }

    [Fact]
    public void A_trusted_proxy_that_is_not_an_address_or_cidr_is_a_configuration_error()
    {
        var o = new Configuration.GatewayOptions();
        o.ClientAddress.TrustedProxies = ["10.0.0.1/8"];
        var e = Assert.Throws<Configuration.ConfigurationException>(() => Configuration.ConfigurationLoader.Validate(o));
        Assert.Contains("clientAddress.trustedProxies[0]", e.Message);
    }
}
