using System.Text;
using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests.Routing;

/// <summary>
/// The answers the gateway reads from the members of a federated path for its own messages (initialize, lists,
/// logging/setLevel) are recorded and, for setLevel when no member took the level, relayed as the member sent them.
/// A member answering in bytes the stages cannot read as text (UTF-16, another charset, an HTML page with character
/// references) is treated as not having answered: none of its bytes reaches the client or the audit log.
/// </summary>
public sealed class FederatedMemberEncodingTests
{
    private const string Pan = "4111111111111111";

    private static string LevelRefusal(string idJson) => "{\"jsonrpc\":\"2.0\",\"id\":" + idJson + ",\"error\":{\"code\":-32000,\"message\":\"no level for card " + Pan + "\"}}";

    private static Func<UpstreamExchange, string, Task> Answer(string shape) => async (x, idJson) =>
    {
        (string type, byte[] body) = shape switch
        {
            "utf-16" => ("application/json", new UnicodeEncoding(bigEndian: false, byteOrderMark: false).GetBytes(LevelRefusal(idJson))),
            "utf-7 label" => ("application/json; charset=utf-7", Encoding.UTF8.GetBytes(LevelRefusal(idJson).Replace(Pan, "+ADQAMQAxADEAMQAxADEAMQAxADEAMQAxADEAMQAxADE-"))),
            _ => ("text/html", Encoding.UTF8.GetBytes("<p>no level for card " + string.Concat(Pan.Select(d => $"&#{(int)d};")) + "</p>")),
        };
        await x.SendAsync($"HTTP/1.1 200 OK\r\nContent-Type: {type}\r\nContent-Length: {body.Length}\r\n\r\n");
        await x.SendAsync(body);
    };

    [Theory]
    [InlineData("utf-16")]
    [InlineData("utf-7 label")]
    [InlineData("html character references")]
    public async Task A_members_answer_the_stages_cannot_read_reaches_neither_the_client_nor_the_log(string shape)
    {
        await using var a = new ScriptedUpstream(ScriptedMember.Serve("a", Answer(shape)));
        await using var b = new ScriptedUpstream(ScriptedMember.Serve("b", Answer(shape)));
        await using var gw = await PolicyGateway.StartAsync(UpstreamScripts.Echo, [new RuleOptions { Name = "all", Action = "allow" }], o =>
        {
            o.Upstreams["a"] = new UpstreamOptions { Url = a.Url, ConnectTimeoutMs = 1_000 };
            o.Upstreams["b"] = new UpstreamOptions { Url = b.Url, ConnectTimeoutMs = 1_000 };
            o.Routes = [new RouteOptions { Path = "/mcp/all", Federate = ["a", "b"] }];
        });
        string token = gw.Token("alice");
        RawResponse opened = await PostAsync(gw, token, Message(1, "initialize", """{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}"""));
        string session = opened.Header("Mcp-Session-Id")!;

        RawResponse level = await PostAsync(gw, token, Message(2, "logging/setLevel", """{"level":"info"}"""), session);

        Assert.DoesNotContain((byte)0, level.BodyBytes);
        Assert.DoesNotContain("+ADQ", level.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("&#", level.Body, StringComparison.Ordinal);
        Assert.Contains("no upstream of this federated path took the log level", level.Body, StringComparison.Ordinal);
        string[] records = await gw.StopAndReadAuditAsync();
        Assert.Empty(AuditCards.FindCardNumbers(records));
        Assert.Empty(AuditCards.FindCardNumbersAmidUnreadableBytes(records));
        Assert.DoesNotContain(records, r => r.Contains("+ADQ", StringComparison.Ordinal) || r.Contains("&#", StringComparison.Ordinal));
    }

    private static string Message(int id, string method, string paramsJson) =>
        "{\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"method\":\"" + method + "\",\"params\":" + paramsJson + "}";

    private static async Task<RawResponse> PostAsync(PolicyGateway gw, string token, string json, string? session = null)
    {
        using RawClient client = await gw.Gateway.ConnectAsync();
        await client.SendAsync(gw.Gateway.Post(json, $"Authorization: Bearer {token}\r\n" + (session is null ? "" : $"Mcp-Session-Id: {session}\r\n"), "/mcp/all"));
        return await client.ReadResponseAsync();
    }
}
