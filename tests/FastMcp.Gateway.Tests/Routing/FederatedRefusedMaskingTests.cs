using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests.Routing;

/// <summary>
/// A member's answer the payload walk refuses to mask (a blob nested deeper than it reads) counts as no answer from that
/// member: its bytes reach neither the client nor the audit record, on every federated path no response stage handles.
/// </summary>
public sealed class FederatedRefusedMaskingTests
{
    private const string Initialize =
        """{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}""";

    // base64("4111111111111111"): what a client decodes to a card number.
    private const string CardBase64 = "NDExMTExMTExMTExMTExMQ==";

    /// <summary>A blob holding a card number below 1,100 nested arrays: deeper than the payload walk reads.</summary>
    private static string Deep() => new string('[', 1100) + "{\"blob\":\"" + CardBase64 + "\"}" + new string(']', 1100);

    private static async Task<RawResponse> PostAsync(PolicyGateway gw, string token, string json, string? session = null)
    {
        using RawClient client = await gw.Gateway.ConnectAsync();
        await client.SendAsync(gw.Gateway.Post(json, $"Authorization: Bearer {token}\r\n" + (session is null ? "" : $"Mcp-Session-Id: {session}\r\n"), "/mcp/all"));
        return await client.ReadResponseAsync();
    }

    private static Task<PolicyGateway> StartAsync(ScriptedUpstream member) =>
        PolicyGateway.StartAsync(UpstreamScripts.Echo, [new RuleOptions { Name = "all", Action = "allow" }], o =>
        {
            o.Upstreams["payments"] = new UpstreamOptions { Url = member.Url, ConnectTimeoutMs = 1_000 };
            o.Routes = [new RouteOptions { Path = "/mcp/all", Federate = ["payments"] }];
        });

    private static async Task AssertNotRecordedAsync(PolicyGateway gw)
    {
        await gw.StopAndReadAuditAsync();
        List<string> records = await AuditCards.ReadRecordsAsync(gw.AuditDirectory);
        Assert.NotEmpty(records);
        Assert.DoesNotContain(records, r => r.Contains(CardBase64[..20], StringComparison.Ordinal));
        Assert.DoesNotContain(CardBase64[..20], AuditCards.ReadableText(records), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_member_initialize_result_with_a_blob_too_deep_to_mask_is_left_out_and_not_recorded()
    {
        await using var member = new ScriptedUpstream(async x =>
        {
            if (x.Request.Method != "POST") { await x.RespondAsync(405, "", ""); return; }
            await x.RespondJsonAsync(ScriptedMember.Result(x.Request.IdJson(),
                "{\"protocolVersion\":\"2025-06-18\",\"capabilities\":{\"tools\":{}},\"serverInfo\":{\"name\":\"payments\",\"version\":\"1\"},\"x\":" + Deep() + "}"),
                "Mcp-Session-Id: s-payments\r\n");
        });
        await using PolicyGateway gw = await StartAsync(member);

        RawResponse opened = await PostAsync(gw, gw.Token("alice"), Initialize);
        Assert.DoesNotContain(CardBase64[..20], opened.Body, StringComparison.Ordinal);
        Assert.Contains(member.Requests, r => r.Body.Contains("\"initialize\"", StringComparison.Ordinal));
        await AssertNotRecordedAsync(gw);
    }

    [Fact]
    public async Task A_member_set_level_error_with_a_blob_too_deep_to_mask_is_neither_relayed_nor_recorded()
    {
        await using var member = new ScriptedUpstream(ScriptedMember.Serve("payments", (x, id) => x.RespondJsonAsync(
            "{\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"error\":{\"code\":-32601,\"message\":\"no\",\"data\":" + Deep() + "}}")));
        await using PolicyGateway gw = await StartAsync(member);
        string token = gw.Token("alice");
        string session = (await PostAsync(gw, token, Initialize)).Header("Mcp-Session-Id")!;

        RawResponse level = await PostAsync(gw, token, """{"jsonrpc":"2.0","id":2,"method":"logging/setLevel","params":{"level":"debug"}}""", session);
        Assert.Contains(member.Requests, r => r.Body.Contains("logging/setLevel", StringComparison.Ordinal));
        Assert.DoesNotContain(CardBase64[..20], level.Body, StringComparison.Ordinal);
        // As when the member did not answer: no upstream took the level.
        Assert.Contains("no upstream of this federated path took the log level", level.Body, StringComparison.Ordinal);
        await AssertNotRecordedAsync(gw);
    }

    [Fact]
    public async Task A_member_list_with_a_blob_too_deep_to_mask_is_left_out_and_not_recorded()
    {
        await using var member = new ScriptedUpstream(ScriptedMember.Serve("payments", (x, id) => x.RespondJsonAsync(ScriptedMember.Result(id,
            "{\"tools\":[{\"name\":\"pay\",\"inputSchema\":{\"type\":\"object\",\"x\":" + Deep() + "}}]}"))));
        await using PolicyGateway gw = await StartAsync(member);
        string token = gw.Token("alice");
        string session = (await PostAsync(gw, token, Initialize)).Header("Mcp-Session-Id")!;

        RawResponse list = await PostAsync(gw, token, """{"jsonrpc":"2.0","id":2,"method":"tools/list"}""", session);
        Assert.Contains(member.Requests, r => r.Body.Contains("\"tools/list\"", StringComparison.Ordinal));
        Assert.DoesNotContain(CardBase64[..20], list.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("\"pay\"", list.Body, StringComparison.Ordinal);
        await AssertNotRecordedAsync(gw);
    }
}
