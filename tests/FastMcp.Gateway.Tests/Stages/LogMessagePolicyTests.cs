using System.Text.Json;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Policy;
using static FastMcp.Gateway.Tests.Support.AuditRecordFields;
using static FastMcp.Gateway.Tests.Support.NotifyingUpstream;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// notifications/message (server log records) is decided before the client sees it, as a logging/setLevel by the caller
/// whose stream carries it, under the rules in force: servers send log messages whether or not a level was set, so a
/// deny of logging/setLevel ("contractors may not see server logs") must withhold them. Denied: withheld, recorded with
/// the masked message, and the stream goes on.
/// </summary>
public sealed class LogMessagePolicyTests
{
    private const string Card = "4111111111111111";

    private static string Log(string text) =>
        "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{\"level\":\"error\",\"logger\":\"db\",\"data\":\"" + text + "\"}}";

    private static string Progress(string text) =>
        "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{\"progressToken\":1,\"progress\":1,\"message\":\"" + text + "\"}}";

    /// <summary>The upstream of these tests: its server logs.</summary>
    private static NotifyingUpstream Logging(bool pauseAfterFirst, params string[] events) => new("{\"logging\":{}}", pauseAfterFirst, events);

    /// <summary>The calls the tests make are allowed; logging/setLevel is not (the default denies it).</summary>
    private static List<RuleOptions> NoLogs => [new RuleOptions { Name = "calls", Action = "allow", Methods = ["initialize", "tools/call"] }];

    private static List<RuleOptions> WithLogs => [new RuleOptions { Name = "logs", Action = "allow", Methods = ["logging/setLevel"] }, .. NoLogs];

    /// <summary>The Denied records of log messages: each server-to-client, for alice, naming the rule, holding the message masked.</summary>
    private static List<JsonElement> AssertDenialsRecorded(List<JsonElement> records, string rule, int count)
    {
        List<JsonElement> denials = [.. records.Where(r => Field(r, "type") == "Denied" && Method(r) == "notifications/message")];
        Assert.Equal(count, denials.Count);
        foreach (JsonElement denial in denials)
        {
            Assert.Equal("serverToClient", Field(denial, "direction"));
            Assert.Equal("Deny", Field(denial, "decision"));
            Assert.Equal(rule, Field(denial, "rule"));
            Assert.Equal("alice", denial.GetProperty("user").GetProperty("subject").GetString());
            Assert.Contains("withheld from the client", Field(denial, "detail"));
            string request = denial.GetProperty("request").GetRawText();
            Assert.Contains("select * from cards", request);
            Assert.Contains("411111******1111", request);
            Assert.DoesNotContain(Card, request);
        }
        return denials;
    }

    [Fact]
    public async Task On_a_post_stream_log_messages_are_withheld_from_a_caller_denied_set_level_and_the_stream_goes_on()
    {
        var upstream = Logging(false, Log("select * from cards where pan=" + Card), Progress("half way"), Log("select * from cards again " + Card));
        await using PolicyGateway g = await PolicyGateway.StartAsync(upstream.Script, NoLogs);
        string token = g.Token("alice");
        await InitializeAsync(g, token);

        RawResponse response = await g.PostAsync(ToolCall, token, SessionHeaders);

        Assert.Equal(200, response.Status);
        Assert.DoesNotContain("notifications/message", response.Body);
        Assert.DoesNotContain("select", response.Body);
        Assert.Contains("half way", response.Body);
        Assert.Contains("\"done\"", response.Body);
        AssertDenialsRecorded(Parse(await g.StopAndReadAuditAsync()), "(default)", 2);
    }

    [Fact]
    public async Task On_the_get_stream_log_messages_are_decided_for_the_sessions_caller()
    {
        var upstream = Logging(false, Log("select * from cards where pan=" + Card), Progress("after the log"));
        await using PolicyGateway g = await PolicyGateway.StartAsync(upstream.Script, NoLogs);
        string token = g.Token("alice");
        await InitializeAsync(g, token);

        using RawClient client = await OpenGetStreamAsync(g, token);
        string stream = await ReadStreamAsync(client);

        Assert.DoesNotContain("select", stream);
        Assert.Contains("after the log", stream);
        AssertDenialsRecorded(Parse(await g.StopAndReadAuditAsync()), "(default)", 1);
    }

    [Fact]
    public async Task A_caller_allowed_set_level_gets_the_log_messages()
    {
        var upstream = Logging(false, Log("select * from cards where pan=" + Card), Progress("half way"));
        await using PolicyGateway g = await PolicyGateway.StartAsync(upstream.Script, WithLogs);
        string token = g.Token("alice");
        await InitializeAsync(g, token);

        RawResponse response = await g.PostAsync(ToolCall, token, SessionHeaders);

        Assert.Equal(200, response.Status);
        Assert.Contains("notifications/message", response.Body);
        Assert.Contains("select * from cards where pan=411111******1111", response.Body);
        Assert.Contains("\"done\"", response.Body);
        AssertDenialsRecorded(Parse(await g.StopAndReadAuditAsync()), "(default)", 0);
    }

    [Fact]
    public async Task Log_messages_are_decided_on_the_client_address_of_the_stream_that_carries_them()
    {
        // Server logs only for callers on the operations network (policy "addresses"); the client address is the one the
        // trusted proxy (127.0.0.1) names.
        List<RuleOptions> opsLogs = [new RuleOptions { Name = "logs-from-ops", Action = "allow", Methods = ["logging/setLevel"], Addresses = ["10.20.0.0/16"] }, .. NoLogs];
        var upstream = Logging(false, Log("select * from cards where pan=" + Card), Progress("half way"));
        await using PolicyGateway g = await PolicyGateway.StartAsync(upstream.Script, opsLogs, o => o.ClientAddress.TrustedProxies = ["127.0.0.1"]);
        string token = g.Token("alice");
        await InitializeAsync(g, token);

        RawResponse outside = await g.PostAsync(ToolCall, token, SessionHeaders + "X-Forwarded-For: 203.0.113.9\r\n");
        RawResponse inside = await g.PostAsync(ToolCall, token, SessionHeaders + "X-Forwarded-For: 10.20.3.4\r\n");

        Assert.DoesNotContain("notifications/message", outside.Body);
        Assert.Contains("half way", outside.Body);
        Assert.Contains("select * from cards where pan=411111******1111", inside.Body);
        JsonElement denial = Assert.Single(AssertDenialsRecorded(Parse(await g.StopAndReadAuditAsync()), "(default)", 1));
        Assert.Equal("203.0.113.9", denial.GetProperty("origin").GetProperty("address").GetString());
    }

    [Fact]
    public async Task A_reload_that_denies_set_level_withholds_the_next_log_message_on_an_open_stream()
    {
        var upstream = Logging(true, Log("first select * from cards"), Log("select * from cards " + Card), Progress("still open"));
        await using PolicyGateway g = await PolicyGateway.StartAsync(upstream.Script, WithLogs);
        string rest = await upstream.ReloadMidStreamAsync(g, "first select",
            [new RuleOptions { Name = "no-contractor-logs", Action = "deny", Methods = ["logging/setLevel"] }, .. WithLogs]);

        Assert.DoesNotContain("select", rest);
        Assert.Contains("still open", rest);
        AssertDenialsRecorded(Parse(await g.StopAndReadAuditAsync()), "no-contractor-logs", 1);
    }

    [Fact]
    public async Task A_json_body_holding_a_log_message_for_a_denied_caller_is_refused()
    {
        await using PolicyGateway g = await PolicyGateway.StartAsync(x => x.RespondJsonAsync(Log("select * from cards where pan=" + Card)), NoLogs);

        RawResponse response = await g.PostAsync(ToolCall, g.Token("alice"));

        Assert.DoesNotContain("select", response.Body);
        using (JsonDocument body = JsonDocument.Parse(response.Body))
        {
            Assert.Equal(5, body.RootElement.GetProperty("id").GetInt32());
            Assert.Equal(-32001, body.RootElement.GetProperty("error").GetProperty("code").GetInt32());
        }
        AssertDenialsRecorded(Parse(await g.StopAndReadAuditAsync()), "(default)", 1);
    }
}
