using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests.Routing;

/// <summary>
/// A member's answer that masking cannot read to the end (a lenient parser reads on past NaN) is neither merged nor
/// recorded: masking refused it, so it counts as no answer from that member.
/// </summary>
public sealed class FederatedUnmaskableAnswerTests
{
    private const string Initialize =
        """{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}""";

    private static async Task<RawResponse> PostAsync(PolicyGateway gw, string token, string json, string? session = null)
    {
        using RawClient client = await gw.Gateway.ConnectAsync();
        await client.SendAsync(gw.Gateway.Post(json, $"Authorization: Bearer {token}\r\n" + (session is null ? "" : $"Mcp-Session-Id: {session}\r\n"), "/mcp/all"));
        return await client.ReadResponseAsync();
    }

    [Fact]
    public async Task A_member_list_with_a_security_code_after_nan_is_left_out_and_recorded_without_the_code()
    {
        await using var member = new ScriptedUpstream(ScriptedMember.Serve("payments", (x, id) => x.RespondJsonAsync(ScriptedMember.Result(id,
            """{"tools":[{"name":"pay","inputSchema":{"type":"object","default":NaN,"cvv":"4321"}}]}"""))));
        await using var gw = await PolicyGateway.StartAsync(UpstreamScripts.Echo, [new RuleOptions { Name = "all", Action = "allow" }], o =>
        {
            o.Upstreams["payments"] = new UpstreamOptions { Url = member.Url, ConnectTimeoutMs = 1_000 };
            o.Routes = [new RouteOptions { Path = "/mcp/all", Federate = ["payments"] }];
        });
        string token = gw.Token("alice");
        string session = (await PostAsync(gw, token, Initialize)).Header("Mcp-Session-Id")!;

        RawResponse list = await PostAsync(gw, token, """{"jsonrpc":"2.0","id":2,"method":"tools/list"}""", session);
        Assert.DoesNotContain("4321", list.Body, StringComparison.Ordinal);
        // The member was asked: its answer is what the record must not keep in clear.
        Assert.Contains(member.Requests, r => r.Body.Contains("\"tools/list\"", StringComparison.Ordinal));

        await gw.StopAndReadAuditAsync();
        List<string> records = await AuditCards.ReadRecordsAsync(gw.AuditDirectory);
        string readable = AuditCards.ReadableText(records);
        Assert.DoesNotContain("4321", readable, StringComparison.Ordinal);
        // Masking refused it: it counts as no answer, so none of its bytes is recorded.
        Assert.DoesNotContain("inputSchema", readable, StringComparison.Ordinal);
    }
}
