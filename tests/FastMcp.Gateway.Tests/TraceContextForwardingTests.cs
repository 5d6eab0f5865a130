using System.Text.Json;
using FastMcp.Policy;
using FastMcp.Gateway.Tests.Support;

namespace FastMcp.Gateway.Tests;

/// <summary>
/// W3C trace context through the gateway: the upstream sees the client's trace continued with the
/// gateway's span as its parent, or a trace the gateway started; a malformed traceparent is never
/// passed on as it is.
/// </summary>
public sealed class TraceContextForwardingTests
{
    private const string TraceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    private const string ClientSpan = "00f067aa0ba902b7";

    private static async Task<string?> UpstreamTraceparentAsync(string? clientTraceparent)
    {
        await using var upstream = new ScriptedUpstream(x => x.RespondJsonAsync(UpstreamScripts.EchoJson(x.Request)));
        await using var gateway = GatewayUnderTest.Start(upstream.Url);
        using RawClient client = await gateway.ConnectAsync();
        await client.SendAsync(gateway.Post(GatewayUnderTest.ToolsList("1"), clientTraceparent is null ? "" : $"traceparent: {clientTraceparent}\r\n"));
        RawResponse response = await client.ReadResponseAsync();
        Assert.Equal(200, response.Status);
        WireHead seen = upstream.SingleRequest().Head;
        Assert.True(seen.GetAll("traceparent").Length == 1, seen.Raw); // exactly one: the gateway's
        return seen.Get("traceparent");
    }

    [Theory]
    [InlineData("01")]
    [InlineData("00")]
    public async Task An_incoming_trace_is_continued_with_the_gateways_span_as_parent(string flags)
    {
        string? forwarded = await UpstreamTraceparentAsync($"00-{TraceId}-{ClientSpan}-{flags}");

        Assert.NotNull(forwarded);
        Assert.Matches($"^00-{TraceId}-[0-9a-f]{{16}}-{flags}$", forwarded);
        string span = forwarded!.Substring(36, 16);
        Assert.NotEqual(ClientSpan, span);
        Assert.NotEqual("0000000000000000", span);
    }

    [Fact]
    public async Task Without_a_traceparent_the_gateway_starts_a_trace()
    {
        string? first = await UpstreamTraceparentAsync(null);
        string? second = await UpstreamTraceparentAsync(null);

        Assert.NotNull(first);
        Assert.Matches("^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$", first);
        Assert.NotEqual(first!.Substring(3, 32), second!.Substring(3, 32));
        Assert.NotEqual(new string('0', 32), first.Substring(3, 32));
    }

    [Theory]
    [InlineData("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01")]
    [InlineData("00-00000000000000000000000000000000-00f067aa0ba902b7-01")]
    [InlineData("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01")]
    [InlineData("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")]
    [InlineData("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra")]
    [InlineData("not a traceparent")]
    public async Task A_malformed_traceparent_is_replaced_by_a_new_trace(string malformed)
    {
        string? forwarded = await UpstreamTraceparentAsync(malformed);

        Assert.NotNull(forwarded);
        Assert.NotEqual(malformed, forwarded);
        Assert.Matches("^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$", forwarded);
        Assert.DoesNotContain(TraceId, forwarded, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task The_audit_record_carries_the_trace_and_the_span_the_upstream_received_as_parent()
    {
        await using PolicyGateway gw = await PolicyGateway.StartAsync(
            x => x.RespondJsonAsync("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"tools\":[]}}"),
            [new RuleOptions { Name = "all", Action = "allow" }]);

        RawResponse r = await gw.PostAsync(GatewayUnderTest.ToolsList("1"), gw.Token("trace-alice"), $"traceparent: 00-{TraceId}-{ClientSpan}-01\r\n");
        Assert.Equal(200, r.Status);
        string forwarded = gw.Upstream.SingleRequest().Header("traceparent")!;

        JsonElement[] exchanges = [.. (await gw.StopAndReadAuditAsync()).Select(l => JsonDocument.Parse(l).RootElement)
            .Where(e => e.GetProperty("type").GetString() == "McpExchange")];
        Assert.Equal(2, exchanges.Length); // the request and the response record
        Assert.All(exchanges, e =>
        {
            JsonElement trace = e.GetProperty("trace");
            Assert.Equal(TraceId, trace.GetProperty("id").GetString());
            Assert.Equal(forwarded.Substring(36, 16), trace.GetProperty("span").GetString());
        });
    }
}
