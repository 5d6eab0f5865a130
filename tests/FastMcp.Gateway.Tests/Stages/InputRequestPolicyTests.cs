using System.Text.Json;
using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// MCP 2026-07-28 carries a server's requests inside an input_required result (result.inputRequests). policy.serverRequests
/// decides each; when one is denied the client gets a JSON-RPC error for its call instead of that result (there is no
/// upstream state to answer), recorded; allowed, the result is relayed. In a JSON body and as a stream's answer.
/// </summary>
public sealed class InputRequestPolicyTests
{
    private const string Call =
        """{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"pay","arguments":{},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}""";
    private const string CallHeaders = "MCP-Protocol-Version: 2026-07-28\r\nMcp-Method: tools/call\r\nMcp-Name: pay\r\n";

    // The elicitation's method is spelled with an escape: a client reads it as elicitation/create, so must the gateway.
    private const string InputRequired = "{\"jsonrpc\":\"2.0\",\"id\":9,\"result\":{\"resultType\":\"input_required\",\"inputRequests\":{"
        + "\"roots\":{\"method\":\"roots/list\",\"params\":{}},"
        + "\"card\":{\"method\":\"elicitation\\/create\",\"params\":{\"message\":\"Type your card number\",\"requestedSchema\":{\"type\":\"object\",\"properties\":{\"pan\":{\"type\":\"string\"}}}}}},"
        + "\"requestState\":\"opaque-1\"}}";

    private static Task Answer(UpstreamExchange x, bool asStream) => asStream ? AnswerAsStream(x) : x.RespondJsonAsync(InputRequired);

    private static async Task AnswerAsStream(UpstreamExchange x)
    {
        await x.StartEventStreamAsync();
        await x.SendEventAsync("data: " + InputRequired + "\n\n");
        await x.EndChunkedAsync();
    }

    private static Action<GatewayOptions> ServerRules(params RuleOptions[] rules) =>
        o => o.Policy!.ServerRequests = new ServerRequestPolicyOptions { DefaultAction = "allow", Rules = [.. rules] };

    private static RuleOptions NoCardPhishing => new()
    {
        Name = "no-card-phishing", Action = "deny", Methods = ["elicitation/create"],
        Arguments = [new ArgumentConditionOptions { Pointer = "/message", Regex = "(?i)card" }],
    };

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_denied_input_request_turns_the_result_into_the_gateways_error_and_is_recorded(bool asStream)
    {
        await using PolicyGateway g = await PolicyGateway.StartAsync(x => Answer(x, asStream), [new RuleOptions { Name = "all", Action = "allow" }],
            ServerRules(NoCardPhishing));
        RawResponse response = await g.PostAsync(Call, g.Token("alice"), CallHeaders);
        Assert.Equal(200, response.Status);
        Assert.DoesNotContain("input_required", response.Body);
        Assert.DoesNotContain("card number", response.Body);
        string json = asStream ? response.Body[(response.Body.IndexOf("data: ", StringComparison.Ordinal) + 6)..].Trim() : response.Body;
        using JsonDocument doc = JsonDocument.Parse(json);
        Assert.Equal("9", doc.RootElement.GetProperty("id").GetRawText());
        Assert.Equal(-32001, doc.RootElement.GetProperty("error").GetProperty("code").GetInt32());
        Assert.Contains("no-card-phishing", doc.RootElement.GetProperty("error").GetProperty("message").GetString());

        List<JsonElement> records = [.. (await g.StopAndReadAuditAsync()).Select(r => JsonDocument.Parse(r).RootElement.Clone())];
        JsonElement denial = Assert.Single(records, r => r.GetProperty("type").GetString() == "Denied");
        Assert.Equal("serverToClient", denial.GetProperty("direction").GetString());
        Assert.Equal("elicitation/create", denial.GetProperty("component").GetProperty("method").GetString());
        Assert.Equal("no-card-phishing", denial.GetProperty("rule").GetString());
        Assert.Equal("9", denial.GetProperty("jsonrpcId").GetRawText());
        Assert.Contains("input_required", denial.GetProperty("request").GetRawText());
        // The exchange's response record holds what the client got: the gateway's error.
        Assert.Contains(records, r => r.GetProperty("detail").GetString() == "response" && r.GetProperty("response").GetRawText().Contains("-32001"));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Allowed_input_requests_reach_the_client_as_the_upstream_sent_them(bool asStream)
    {
        await using PolicyGateway g = await PolicyGateway.StartAsync(x => Answer(x, asStream), [new RuleOptions { Name = "all", Action = "allow" }],
            ServerRules(new RuleOptions { Name = "no-sampling", Action = "deny", Methods = ["sampling/*"] }));
        RawResponse response = await g.PostAsync(Call, g.Token("alice"), CallHeaders);
        Assert.Equal(200, response.Status);
        Assert.Contains("input_required", response.Body);
        Assert.Contains("Type your card number", response.Body);
    }

    [Fact]
    public async Task An_input_request_the_gateway_cannot_read_is_refused()
    {
        const string Unreadable = """{"jsonrpc":"2.0","id":9,"result":{"resultType":"input_required","inputRequests":{"x":{"params":{}}}}}""";
        await using PolicyGateway g = await PolicyGateway.StartAsync(x => x.RespondJsonAsync(Unreadable), [new RuleOptions { Name = "all", Action = "allow" }],
            ServerRules(NoCardPhishing));
        RawResponse response = await g.PostAsync(Call, g.Token("alice"), CallHeaders);
        Assert.Equal(-32001, response.JsonRpcError().Code);
        Assert.DoesNotContain("input_required", response.Body);
    }
}
