using System.Text.Json;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Policy;
using static FastMcp.Gateway.Tests.Support.AuditRecordFields;
using static FastMcp.Gateway.Tests.Support.NotifyingUpstream;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// notifications/resources/updated is decided before the client sees it, as a resources/subscribe of its params.uri by the
/// caller whose stream carries it, under the rules in force: a subscription made before a deny rule (or never made, on a
/// listen stream) does not keep telling the caller about resources it may not subscribe to. Denied: withheld, recorded,
/// and the stream goes on; unreadable: withheld and the stream ends, as any unreadable event.
/// </summary>
public sealed class ResourceUpdatePolicyTests
{
    private static string Updated(string uriJson) =>
        "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/resources/updated\",\"params\":{\"uri\":" + uriJson + "}}";

    /// <summary>The upstream of these tests: its server subscribes to resources.</summary>
    private static NotifyingUpstream Updating(bool pauseAfterFirst, params string[] events) =>
        new("{\"resources\":{\"subscribe\":true}}", pauseAfterFirst, events);

    /// <summary>Subscribing is allowed to file:///public/* only; the calls the tests make are allowed.</summary>
    private static List<RuleOptions> PublicOnly =>
    [
        new RuleOptions { Name = "public-subscriptions", Action = "allow", Methods = ["resources/subscribe"], Names = ["file:///public/*"] },
        new RuleOptions { Name = "calls", Action = "allow", Methods = ["initialize", "tools/call", "subscriptions/listen"] },
    ];

    /// <summary>The one Denied record of an update for <paramref name="uri"/>, with the caller, upstream, rule and target it must name.</summary>
    private static void AssertDenialRecorded(List<JsonElement> records, string uri, string rule, string upstream = "default")
    {
        JsonElement denial = Assert.Single(records, r => Field(r, "type") == "Denied" && Method(r) == "notifications/resources/updated");
        Assert.Equal("serverToClient", Field(denial, "direction"));
        Assert.Equal("Deny", Field(denial, "decision"));
        Assert.Equal(rule, Field(denial, "rule"));
        Assert.Equal(uri, denial.GetProperty("component").GetProperty("target").GetString());
        Assert.Equal(upstream, denial.GetProperty("component").GetProperty("upstreamName").GetString());
        Assert.Equal("alice", denial.GetProperty("user").GetProperty("subject").GetString());
        Assert.Contains("withheld from the client", Field(denial, "detail"));
        Assert.Contains(uri, denial.GetProperty("request").GetRawText());
    }

    [Fact]
    public async Task On_a_post_stream_an_update_the_caller_may_not_subscribe_to_is_withheld_and_recorded_and_the_stream_goes_on()
    {
        var upstream = Updating(false, Updated("\"file:///public/a\""), Updated("\"file:///etc/passwd\""), Updated("\"file:\\/\\/\\/public\\/b\""));
        await using PolicyGateway g = await PolicyGateway.StartAsync(upstream.Script, PublicOnly);
        string token = g.Token("alice");
        await InitializeAsync(g, token);

        RawResponse response = await g.PostAsync(ToolCall, token, SessionHeaders);

        Assert.Equal(200, response.Status);
        Assert.Contains("file:///public/a", response.Body);
        Assert.Contains("public\\/b", response.Body);
        Assert.DoesNotContain("/etc/passwd", response.Body);
        Assert.Contains("\"done\"", response.Body);
        List<JsonElement> records = Parse(await g.StopAndReadAuditAsync());
        AssertDenialRecorded(records, "file:///etc/passwd", "(default)");
        Assert.Equal(2, records.Count(r => Field(r, "type") == "McpExchange" && Method(r) == "notifications/resources/updated"));
    }

    [Fact]
    public async Task An_update_is_decided_on_the_client_address_of_the_stream_that_carries_it()
    {
        // Subscriptions only from the operations network (policy "addresses"); the client address is the one the trusted
        // proxy (127.0.0.1) names.
        List<RuleOptions> fromOps =
        [
            new RuleOptions { Name = "subscriptions-from-ops", Action = "allow", Methods = ["resources/subscribe"], Addresses = ["10.20.0.0/16"] },
            new RuleOptions { Name = "calls", Action = "allow", Methods = ["initialize", "tools/call"] },
        ];
        var upstream = Updating(false, Updated("\"file:///public/a\""));
        await using PolicyGateway g = await PolicyGateway.StartAsync(upstream.Script, fromOps, o => o.ClientAddress.TrustedProxies = ["127.0.0.1"]);
        string token = g.Token("alice");
        await InitializeAsync(g, token);

        RawResponse outside = await g.PostAsync(ToolCall, token, SessionHeaders + "X-Forwarded-For: 203.0.113.9\r\n");
        RawResponse inside = await g.PostAsync(ToolCall, token, SessionHeaders + "X-Forwarded-For: 10.20.3.4\r\n");

        Assert.DoesNotContain("file:///public/a", outside.Body);
        Assert.Contains("\"done\"", outside.Body);
        Assert.Contains("file:///public/a", inside.Body);
        List<JsonElement> records = Parse(await g.StopAndReadAuditAsync());
        AssertDenialRecorded(records, "file:///public/a", "(default)");
        JsonElement denial = Assert.Single(records, r => Field(r, "type") == "Denied" && Method(r) == "notifications/resources/updated");
        Assert.Equal("203.0.113.9", denial.GetProperty("origin").GetProperty("address").GetString());
    }

    [Fact]
    public async Task On_the_get_stream_an_update_is_decided_for_the_sessions_caller()
    {
        var upstream = Updating(false, Updated("\"file:///public/a\""), Updated("\"FILE://localhost/public/../etc/passwd\""));
        await using PolicyGateway g = await PolicyGateway.StartAsync(upstream.Script, PublicOnly);
        string token = g.Token("alice");
        await InitializeAsync(g, token);

        using RawClient client = await OpenGetStreamAsync(g, token);
        string stream = await ReadStreamAsync(client);

        Assert.Contains("file:///public/a", stream);
        Assert.DoesNotContain("passwd", stream);
        // Normalized as a subscribe's URI is, and recorded as the upstream sent it.
        AssertDenialRecorded(Parse(await g.StopAndReadAuditAsync()), "FILE://localhost/public/../etc/passwd", "(default)");
    }

    [Fact]
    public async Task On_a_listen_stream_an_update_for_a_resource_never_subscribed_to_is_withheld()
    {
        var upstream = Updating(false, Updated("\"file:///public/a\""), Updated("\"file:///etc/passwd\""));
        await using PolicyGateway g = await PolicyGateway.StartAsync(upstream.Script, PublicOnly);
        string token = g.Token("alice");

        RawResponse response = await g.PostAsync("{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"subscriptions/listen\",\"params\":{\"notifications\":"
            + "{\"resourceSubscriptions\":[\"file:///public/a\"]}}}", token);

        Assert.Equal(200, response.Status);
        Assert.Contains("file:///public/a", response.Body);
        Assert.DoesNotContain("/etc/passwd", response.Body);
        AssertDenialRecorded(Parse(await g.StopAndReadAuditAsync()), "file:///etc/passwd", "(default)");
    }

    [Fact]
    public async Task A_reload_that_denies_a_resource_withholds_its_next_update_on_an_open_stream()
    {
        var upstream = Updating(true, Updated("\"file:///public/a\""), Updated("\"file:///public/a\""), Updated("\"file:///public/b\""));
        await using PolicyGateway g = await PolicyGateway.StartAsync(upstream.Script, PublicOnly);
        string rest = await upstream.ReloadMidStreamAsync(g, "file:///public/a",
            [new RuleOptions { Name = "no-public-a", Action = "deny", Names = ["file:///public/a"] }, .. PublicOnly]);

        Assert.DoesNotContain("public/a", rest);
        Assert.Contains("file:///public/b", rest);
        AssertDenialRecorded(Parse(await g.StopAndReadAuditAsync()), "file:///public/a", "no-public-a");
    }

    public static TheoryData<string> UnreadableUpdates => new()
    {
        "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/resources/updated\"}",
        "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/resources/updated\",\"params\":{}}",
        Updated("7"),
        Updated("null"),
        "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/resources/updated\",\"params\":{\"URI\":\"file:///etc/passwd\"}}",
        "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/resources/updated\",\"params\":\"file:///etc/passwd\"}",
        Updated("\"file:///public/" + new string('a', 1100) + "\""),
    };

    [Theory]
    [MemberData(nameof(UnreadableUpdates))]
    public async Task An_update_the_gateway_cannot_read_is_withheld_as_unreadable(string update)
    {
        var upstream = Updating(false, update);
        await using PolicyGateway g = await PolicyGateway.StartAsync(upstream.Script, PublicOnly);
        string token = g.Token("alice");
        await InitializeAsync(g, token);

        RawResponse response = await g.PostAsync(ToolCall, token, SessionHeaders);

        Assert.DoesNotContain("resources/updated", response.Body);
        Assert.DoesNotContain("\"done\"", response.Body);
        List<JsonElement> records = Parse(await g.StopAndReadAuditAsync());
        JsonElement withheld = Assert.Single(records, r => Field(r, "type") == "Denied" && Field(r, "direction") == "serverToClient");
        Assert.StartsWith("withheld: not a readable JSON-RPC message", Field(withheld, "detail"));
    }

    /// <summary>An upstream that answers every call with <paramref name="body"/> as a JSON body, in the answer's place.</summary>
    private static Func<UpstreamExchange, Task> AnsweringWith(string body) => x => x.RespondJsonAsync(body);

    [Fact]
    public async Task A_json_body_holding_an_update_is_decided_too()
    {
        await using PolicyGateway g = await PolicyGateway.StartAsync(AnsweringWith(Updated("\"file:///etc/passwd\"")), PublicOnly);

        RawResponse response = await g.PostAsync(ToolCall, g.Token("alice"));

        Assert.DoesNotContain("passwd", response.Body);
        using (JsonDocument body = JsonDocument.Parse(response.Body))
        {
            Assert.Equal(5, body.RootElement.GetProperty("id").GetInt32());
            Assert.Equal(-32001, body.RootElement.GetProperty("error").GetProperty("code").GetInt32());
        }
        AssertDenialRecorded(Parse(await g.StopAndReadAuditAsync()), "file:///etc/passwd", "(default)");
    }

    [Fact]
    public async Task A_json_body_holding_an_allowed_update_is_relayed()
    {
        await using PolicyGateway g = await PolicyGateway.StartAsync(AnsweringWith(Updated("\"file:///public/a\"")), PublicOnly);

        RawResponse response = await g.PostAsync(ToolCall, g.Token("alice"));

        Assert.Equal(200, response.Status);
        Assert.Contains("file:///public/a", response.Body);
    }

    [Theory]
    [InlineData("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/resources/updated\",\"params\":{\"URI\":\"file:///etc/passwd\"}}")]
    [InlineData("[{\"jsonrpc\":\"2.0\",\"id\":5,\"result\":{}},{\"jsonrpc\":\"2.0\",\"method\":\"notifications/resources/updated\",\"params\":{\"uri\":\"file:///public/a\"}}]")]
    public async Task A_json_body_with_an_update_the_gateway_cannot_decide_is_withheld(string body)
    {
        await using PolicyGateway g = await PolicyGateway.StartAsync(AnsweringWith(body), PublicOnly);

        RawResponse response = await g.PostAsync(ToolCall, g.Token("alice"));

        Assert.Equal(502, response.Status);
        Assert.DoesNotContain("resources/updated", response.Body);
        Assert.Contains("resource update", response.Body);
    }

    [Fact]
    public async Task A_batch_event_holding_an_update_is_withheld()
    {
        var upstream = Updating(false, "[" + Updated("\"file:///public/a\"") + "]");
        await using PolicyGateway g = await PolicyGateway.StartAsync(upstream.Script, PublicOnly);
        string token = g.Token("alice");
        await InitializeAsync(g, token);

        RawResponse response = await g.PostAsync(ToolCall, token, SessionHeaders);

        Assert.DoesNotContain("resources/updated", response.Body);
        Assert.DoesNotContain("\"done\"", response.Body);
    }
}
