using System.Text.Json;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// A tool name or method too long for the policy stage to hold used to be decided as "no name": a
/// name-scoped deny rule never fired and a later name-less allow rule let the call through. Such a
/// call is refused by the built-in rule (overlong-name) and never reaches the upstream.
/// </summary>
public sealed class OverlongNameTests : IAsyncLifetime
{
    private PolicyGateway _gw = null!;

    public async Task InitializeAsync() => _gw = await PolicyGateway.StartAsync(
        x => x.RespondJsonAsync("{\"jsonrpc\":\"2.0\",\"id\":" + x.Request.IdJson() + ",\"result\":{\"content\":[]}}"),
        [
            new RuleOptions { Name = "no-deletes", Action = "deny", Methods = ["tools/call"], Names = ["delete_*"] },
            new RuleOptions { Name = "everything-else", Action = "allow" },
        ]);

    public async Task DisposeAsync() => await _gw.DisposeAsync();

    [Theory]
    [InlineData(1025)]
    [InlineData(5000)]
    public async Task A_name_over_1_KiB_is_refused_not_decided_as_no_name(int length)
    {
        string name = "delete_" + new string('x', length - "delete_".Length);
        string call = "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"tools/call\",\"params\":{\"name\":\"" + name + "\",\"arguments\":{}}}";

        RawResponse response = await _gw.PostAsync(call, _gw.Token("alice", "sre"));

        using JsonDocument body = JsonDocument.Parse(response.Body);
        Assert.Equal(9, body.RootElement.GetProperty("id").GetInt32());
        Assert.Equal(-32001, body.RootElement.GetProperty("error").GetProperty("code").GetInt32());
        Assert.Contains("too long", body.RootElement.GetProperty("error").GetProperty("message").GetString());
        Assert.Empty(_gw.Upstream.Requests);
    }

    [Fact]
    public async Task An_unknown_method_too_long_to_hold_is_refused()
    {
        string call = "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"" + new string('m', 300) + "\",\"params\":{}}";

        RawResponse response = await _gw.PostAsync(call, _gw.Token("alice", "sre"));

        using JsonDocument body = JsonDocument.Parse(response.Body);
        Assert.Equal(-32001, body.RootElement.GetProperty("error").GetProperty("code").GetInt32());
        Assert.Empty(_gw.Upstream.Requests);
    }

    [Fact]
    public async Task A_name_of_exactly_1_KiB_is_still_decided_by_the_rules()
    {
        string name = "delete_" + new string('x', 1024 - "delete_".Length);
        string denied = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"" + name + "\",\"arguments\":{}}}";
        string allowed = "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":\"" + new string('r', 1024) + "\",\"arguments\":{}}}";

        using (JsonDocument body = JsonDocument.Parse((await _gw.PostAsync(denied, _gw.Token("alice", "sre"))).Body))
            Assert.Contains("no-deletes", body.RootElement.GetProperty("error").GetProperty("message").GetString());
        RawResponse ok = await _gw.PostAsync(allowed, _gw.Token("alice", "sre"));
        Assert.Equal(200, ok.Status);
        Assert.Single(_gw.Upstream.Requests);
    }
}

/// <summary>Two copies of a mirrored MCP header: refused at framing, nothing reaches the upstream.</summary>
public sealed class DuplicateMcpHeaderTests : IAsyncLifetime
{
    private PolicyGateway _gw = null!;

    public async Task InitializeAsync() => _gw = await PolicyGateway.StartAsync(
        x => x.RespondJsonAsync("{\"jsonrpc\":\"2.0\",\"id\":" + x.Request.IdJson() + ",\"result\":{\"content\":[]}}"),
        [new RuleOptions { Name = "everything", Action = "allow" }]);

    public async Task DisposeAsync() => await _gw.DisposeAsync();

    [Theory]
    [InlineData("Mcp-Name: read_file\r\nMcp-Name: delete_all\r\n")]
    [InlineData("Mcp-Method: tools/call\r\nMcp-Method: tools/call\r\n")]
    [InlineData("MCP-Protocol-Version: 2025-06-18\r\nMCP-Protocol-Version: 2025-06-18\r\n")]
    public async Task A_duplicated_mcp_header_is_refused_before_anything_is_forwarded(string headers)
    {
        string call = "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"tools/call\",\"params\":{\"name\":\"read_file\",\"arguments\":{}}}";

        RawResponse response = await _gw.PostAsync(call, _gw.Token("alice", "sre"), headers);

        Assert.Equal(400, response.Status);
        Assert.Contains("more than one", response.Body);
        Assert.Empty(_gw.Upstream.Requests);
    }
}
