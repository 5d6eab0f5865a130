using System.Text.Json;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// MCP 2026-07-28 drops resources/subscribe: a client subscribes to resource updates in subscriptions/listen's
/// params.notifications.resourceSubscriptions. The policy decided only the listen itself, so a rule denying
/// subscriptions to <c>file:///etc/*</c> was walked around by listening to them. Each URI is now decided as a
/// resources/subscribe of it (normalized), and a list the gateway cannot read refuses the listen.
/// </summary>
public sealed class ListenSubscriptionPolicyTests
{
    private static List<RuleOptions> NoEtc =>
    [
        new RuleOptions { Name = "no-etc", Action = "deny", Methods = ["resources/*"], Names = ["file:///etc/*"] },
        new RuleOptions { Name = "everything-else", Action = "allow" },
    ];

    private static Task Answer(UpstreamExchange x) =>
        x.RespondJsonAsync("{\"jsonrpc\":\"2.0\",\"id\":" + x.Request.IdJson() + ",\"result\":{\"resultType\":\"complete\"}}");

    private static string Listen(string notifications) =>
        "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"subscriptions/listen\",\"params\":{\"notifications\":" + notifications + "}}";

    [Theory]
    [InlineData("""{"resourceSubscriptions":["file:///etc/passwd"]}""", "no-etc")]
    [InlineData("""{"toolsListChanged":true,"resourceSubscriptions":["file:///tmp/ok","file:///tmp/../etc/shadow"]}""", "no-etc")]
    [InlineData("""{"resourceSubscriptions":["file:\/\/\/etc\/passwd"]}""", "no-etc")]
    [InlineData("""{"resourceSubscriptions":["file:///tmp%2F..%2Fetc/passwd"]}""", "(unnormalizable-uri)")]
    [InlineData("""{"resourceSubscriptions":["file:///tmp/ok",7]}""", "(unreadable-subscriptions)")]
    [InlineData("""{"resourceSubscriptions":"file:///etc/passwd"}""", "(unreadable-subscriptions)")]
    public async Task A_listen_subscribing_to_a_denied_resource_is_refused(string notifications, string rule)
    {
        await using var gw = await PolicyGateway.StartAsync(Answer, NoEtc);

        RawResponse response = await gw.PostAsync(Listen(notifications), gw.Token("alice"));

        using JsonDocument body = JsonDocument.Parse(response.Body);
        Assert.Equal(-32001, body.RootElement.GetProperty("error").GetProperty("code").GetInt32());
        string message = body.RootElement.GetProperty("error").GetProperty("message").GetString()!;
        Assert.Contains(rule switch { "no-etc" => "'no-etc'", "(unnormalizable-uri)" => "cannot be normalized", _ => "could not be read to be decided" }, message);
        Assert.Empty(gw.Upstream.Requests);
    }

    [Fact]
    public async Task A_case_variant_a_server_could_read_as_the_subscriptions_refuses_the_listen()
    {
        await using var gw = await PolicyGateway.StartAsync(Answer, NoEtc);

        string request = "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"subscriptions/listen\",\"params\":{\"Notifications\":{\"resourceSubscriptions\":[\"file:///etc/passwd\"]}}}";
        RawResponse response = await gw.PostAsync(request, gw.Token("alice"));

        using JsonDocument body = JsonDocument.Parse(response.Body);
        Assert.Equal(-32001, body.RootElement.GetProperty("error").GetProperty("code").GetInt32());
        Assert.Contains("could not be read to be decided", body.RootElement.GetProperty("error").GetProperty("message").GetString());
        Assert.Empty(gw.Upstream.Requests);
    }

    [Theory]
    [InlineData("""{"resourceSubscriptions":["file:///tmp/ok"]}""")]
    [InlineData("""{"toolsListChanged":true}""")]
    [InlineData("""{"resourceSubscriptions":[]}""")]
    public async Task A_listen_to_allowed_resources_or_to_lists_is_forwarded(string notifications)
    {
        await using var gw = await PolicyGateway.StartAsync(Answer, NoEtc);

        RawResponse response = await gw.PostAsync(Listen(notifications), gw.Token("alice"));

        Assert.Equal(200, response.Status);
        Assert.Contains("resultType", response.Body);
        Assert.Single(gw.Upstream.Requests);
    }

    [Fact]
    public async Task A_resource_no_rule_allows_is_refused_by_the_default_even_when_the_listen_is_allowed()
    {
        await using var gw = await PolicyGateway.StartAsync(Answer,
            [new RuleOptions { Name = "lists-only", Action = "allow", Methods = ["subscriptions/listen"] }]);

        RawResponse denied = await gw.PostAsync(Listen("""{"resourceSubscriptions":["file:///tmp/ok"]}"""), gw.Token("alice"));
        RawResponse allowed = await gw.PostAsync(Listen("""{"promptsListChanged":true}"""), gw.Token("alice"));

        Assert.Equal(-32001, JsonDocument.Parse(denied.Body).RootElement.GetProperty("error").GetProperty("code").GetInt32());
        Assert.Equal(200, allowed.Status);
        Assert.Single(gw.Upstream.Requests);
    }
}
