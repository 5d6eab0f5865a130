using System.Text.Json;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// The audit record of a requested approval carries the digest's headers line, card numbers masked, as it carries the
/// query: an auditor can recompute the digest from the record alone.
/// </summary>
public sealed class ApprovalForwardedHeadersAuditTests
{
    [Fact]
    public async Task The_approval_requested_record_carries_the_forwarded_fields_masked()
    {
        await using PolicyGateway gw = await PolicyGateway.StartAsync(UpstreamScripts.Echo,
            [new RuleOptions { Name = "echo-grant", Action = "require_approval", Methods = ["tools/call"], Names = ["echo"], Approvers = ["release"], ApprovalMode = "grant" }],
            o => o.Upstream.ForwardHeaders = ["X-MCP-*"]);
        RawResponse answer = await gw.PostAsync("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{}}}""", gw.Token("alice", "dev"),
            "X-MCP-Readonly: true\r\nX-MCP-Note: card 4111111111111111\r\nX-Api-Key: not-forwarded\r\n");
        Assert.Equal(-32002, answer.JsonRpcError().Code);

        string[] records = await gw.StopAndReadAuditAsync();
        JsonElement requested = records.Select(l => JsonDocument.Parse(l).RootElement.Clone()).Single(r => r.GetProperty("type").GetString() == "ApprovalRequested");
        string detail = requested.GetProperty("detail").GetString()!;
        Assert.EndsWith("; headers x-mcp-note:card 411111******1111,x-mcp-readonly:true", detail, StringComparison.Ordinal);
        Assert.DoesNotContain("4111111111111111", string.Join('\n', records), StringComparison.Ordinal);
        Assert.DoesNotContain("not-forwarded", detail, StringComparison.Ordinal);
    }
}
