using System.Globalization;
using System.Text.Json;
using FastMcp.Gateway.Proxy;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Policy;
using static FastMcp.Gateway.Tests.Support.AuditRecordFields;
using static FastMcp.Gateway.Tests.Tasks.TaskRedecisions;

namespace FastMcp.Gateway.Tests.Tasks;

/// <summary>
/// A tasks/result answered as an event stream is decided again while it is open (docs/mcp-handling.md, "Tasks"): once the
/// call that created the task is no longer allowed (a reload, or a time condition's window closing) the next event is not
/// relayed; the client gets the -32001 a new request on the task would get as the request's answer, the stream ends, and
/// the refusal is counted and recorded as a Denied record. Through the in-process gateway and a task server whose
/// tasks/result stream the test drives (TaskServer.ResultHeld).
/// </summary>
public sealed class TaskResultStreamTests
{
    private static readonly DateTimeOffset Start = new(2030, 3, 4, 17, 0, 0, TimeSpan.Zero);

    /// <summary>Opens alice's tasks/result stream on <paramref name="task"/> and reads its first event (FIRST-MARK).</summary>
    private static async Task<RawClient> OpenResultStreamAsync(PolicyGateway gw, string token, string task, string extraHeaders = "")
    {
        RawClient client = await gw.Gateway.ConnectAsync();
        try
        {
            await client.SendAsync(gw.Gateway.Post(TasksRequest("tasks/result", task), $"Authorization: Bearer {token}\r\n{extraHeaders}"));
            (WireHead head, int status) = await client.ReadHeadAsync();
            Assert.Equal(200, status);
            Assert.StartsWith("text/event-stream", head.Get("Content-Type"), StringComparison.Ordinal);
            string? first = await client.ReadChunkAsync("the first event");
            Assert.Contains("FIRST-MARK", first, StringComparison.Ordinal);
            return client;
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    /// <summary>The rest of the stream, up to its end.</summary>
    private static async Task<string> ReadRestAsync(RawClient client)
    {
        var text = new System.Text.StringBuilder();
        for (int i = 0; i < 50; i++)
        {
            string? chunk = await client.ReadChunkAsync("the rest of the stream");
            if (chunk is null) return text.ToString();
            text.Append(chunk);
        }
        throw new Xunit.Sdk.XunitException("the stream did not end within 50 chunks");
    }

    /// <summary>The JSON-RPC messages of the events in <paramref name="stream"/>.</summary>
    private static List<JsonElement> Messages(string stream)
    {
        var messages = new List<JsonElement>();
        foreach (string line in stream.Split('\n'))
        {
            if (!line.StartsWith("data:", StringComparison.Ordinal)) continue;
            using var doc = JsonDocument.Parse(line["data:".Length..]);
            messages.Add(doc.RootElement.Clone());
        }
        return messages;
    }

    /// <summary>Asserts that the stream's rest is exactly the refusal of request 3, naming <paramref name="because"/>.</summary>
    private static void AssertRefusedOnStream(string rest, string because)
    {
        Assert.DoesNotContain("SECOND-MARK", rest, StringComparison.Ordinal);
        Assert.DoesNotContain("rates", rest, StringComparison.Ordinal);
        JsonElement refusal = Assert.Single(Messages(rest));
        Assert.Equal(3, refusal.GetProperty("id").GetInt32());
        JsonElement error = refusal.GetProperty("error");
        Assert.Equal(-32001, error.GetProperty("code").GetInt32());
        Assert.Equal("the call that created this task is no longer allowed: " + because, error.GetProperty("message").GetString());
    }

    private static long Ended(PolicyGateway gw) => gw.Gateway.Host.Runtime.Counters.StreamsEnded[(int)StreamEndReason.TaskCallNotAllowed - 1];

    private static async Task AssertDeniedRecordAsync(PolicyGateway gw, string detail)
    {
        List<JsonElement> records = Parse(await gw.StopAndReadAuditAsync());
        JsonElement denial = Assert.Single(records, r => Field(r, "type") == "Denied");
        Assert.Equal("(task-call-not-allowed)", Field(denial, "rule"));
        Assert.Equal(detail, Field(denial, "detail"));
        Assert.Contains(records, r => Field(r, "detail") == StreamEndReasons.Detail(StreamEndReason.TaskCallNotAllowed));
    }

    [Fact]
    public async Task A_reload_that_denies_the_tool_ends_its_open_result_stream_with_the_refusal_and_records_it()
    {
        var held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using PolicyGateway gw = await PolicyGateway.StartAsync(new TaskServer { ResultHeld = held }.Script, Rules);
        string alice = gw.Token("alice");
        (string session, string task) = await CreateTaskAsync(gw, alice);
        using RawClient stream = await OpenResultStreamAsync(gw, alice, task, $"Mcp-Session-Id: {session}\r\n");
        long deniedBefore = gw.Gateway.Host.Runtime.Counters.PolicyDenied;
        int streamConnection = Assert.Single(gw.Upstream.Requests, r => r.Body.Contains("\"tasks/result\"", StringComparison.Ordinal)).ConnectionNumber;

        // The tool is no longer allowed (the default denies it); tasks/* still is.
        Reload(gw, Protocol, TasksRule);
        held.SetResult();
        string rest = await ReadRestAsync(stream);

        AssertRefusedOnStream(rest, "the tools/call 'research' that created the task: denied by the default");
        Assert.Equal(deniedBefore + 1, gw.Gateway.Host.Runtime.Counters.PolicyDenied);
        Assert.Equal(1, Ended(gw));
        // The stream's upstream connection is closed, never reused (its answer was not read to the end). Which connection
        // the next request gets is not asserted by count: idle connections are kept per socket loop and a client socket's
        // loop is the next in turn process-wide, so whether another idle connection is at hand depends on other tests.
        Assert.True(await gw.Upstream.ConnectionEndsAsync(streamConnection, TimeSpan.FromSeconds(10)), "the stream's upstream connection was kept open");
        AssertRefused(await gw.PostAsync(TasksRequest("tasks/get", task), alice, $"Mcp-Session-Id: {session}\r\n"), "denied by the default");
        Assert.Equal(200, (await gw.PostAsync(Initialize, alice)).Status);
        // (The stream's request may itself have come on an idle connection an earlier request used.)
        Assert.DoesNotContain(gw.Upstream.Requests.SkipWhile(r => !r.Body.Contains("\"tasks/result\"", StringComparison.Ordinal)).Skip(1),
            r => r.ConnectionNumber == streamConnection);
        Assert.Contains("\"initialize\"", gw.Upstream.Requests.Last().Body, StringComparison.Ordinal);
        List<JsonElement> records = Parse(await gw.StopAndReadAuditAsync());
        JsonElement denial = Assert.Single(records, r => Field(r, "type") == "Denied" && Method(r) == "tasks/result");
        Assert.Equal("(task-call-not-allowed)", Field(denial, "rule"));
        Assert.Equal("the tools/call 'research' that created the task: denied by the default", Field(denial, "detail"));
        Assert.Contains(records, r => Field(r, "detail") == StreamEndReasons.Detail(StreamEndReason.TaskCallNotAllowed));
    }

    [Fact]
    public async Task A_reload_that_still_allows_the_call_by_another_rule_masks_the_following_events_with_its_profile()
    {
        var held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using PolicyGateway gw = await PolicyGateway.StartAsync(new TaskServer { ResultHeld = held }.Script, Rules,
            o => o.Masking.Profiles["contractor"] = new Configuration.MaskingProfileOptions { KeepFirst = 0, KeepLast = 0 });
        string alice = gw.Token("alice");
        (string session, string task) = await CreateTaskAsync(gw, alice);
        using RawClient stream = await OpenResultStreamAsync(gw, alice, task, $"Mcp-Session-Id: {session}\r\n");

        Reload(gw, Protocol, new RuleOptions { Name = "research-contractor", Action = "allow", Methods = ["tools/call"], Names = ["research"], MaskProfile = "contractor" },
            TasksRule);
        held.SetResult();
        string rest = await ReadRestAsync(stream);

        Assert.Contains("SECOND-MARK", rest, StringComparison.Ordinal);
        Assert.Contains("rates", rest, StringComparison.Ordinal);
        Assert.DoesNotContain("4111", rest, StringComparison.Ordinal);
        Assert.DoesNotContain("1111", rest, StringComparison.Ordinal);
        Assert.Equal(0, Ended(gw));
    }

    [Fact]
    public async Task A_reload_that_changes_nothing_for_the_call_leaves_the_stream_running_to_its_result()
    {
        var held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using PolicyGateway gw = await PolicyGateway.StartAsync(new TaskServer { ResultHeld = held }.Script, Rules);
        string alice = gw.Token("alice");
        (string session, string task) = await CreateTaskAsync(gw, alice);
        using RawClient stream = await OpenResultStreamAsync(gw, alice, task, $"Mcp-Session-Id: {session}\r\n");

        Reload(gw, Protocol, new RuleOptions { Name = "other", Action = "deny", Methods = ["tools/call"], Names = ["wire"] }, Research, TasksRule);
        held.SetResult();
        string rest = await ReadRestAsync(stream);

        Assert.Contains("SECOND-MARK", rest, StringComparison.Ordinal);
        Assert.Contains("rates", rest, StringComparison.Ordinal);
        Assert.DoesNotContain("\"error\"", rest, StringComparison.Ordinal);
        Assert.Equal(0, Ended(gw));
    }

    /// <summary>research may be called until the change freeze, an hour after the test's start.</summary>
    private static List<RuleOptions> ResearchUntilFreeze =>
    [
        Protocol, TasksRule,
        new RuleOptions { Name = "research-until-freeze", Action = "allow", Methods = ["tools/call"], Names = ["research"],
            Time = new TimeConditionOptions { NotAfter = Start.AddHours(1).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture) } },
    ];

    [Fact]
    public async Task A_time_window_that_closes_mid_stream_ends_it_at_its_next_event_without_any_reload()
    {
        var clock = new ManualPolicyClock(Start);
        var held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using PolicyGateway gw = await PolicyGateway.StartAsync(new TaskServer { ResultHeld = held }.Script, ResearchUntilFreeze, policyClock: clock);
        string alice = gw.Token("alice");
        (string session, string task) = await CreateTaskAsync(gw, alice);
        using RawClient stream = await OpenResultStreamAsync(gw, alice, task, $"Mcp-Session-Id: {session}\r\n");

        clock.Advance(TimeSpan.FromHours(2));
        held.SetResult();
        string rest = await ReadRestAsync(stream);

        AssertRefusedOnStream(rest, "the tools/call 'research' that created the task: denied by the default");
        Assert.Equal(1, Ended(gw));
        await AssertDeniedRecordAsync(gw, "the tools/call 'research' that created the task: denied by the default");
    }

    [Fact]
    public async Task A_quiet_result_stream_ends_on_the_heartbeat_once_the_window_closes()
    {
        var clock = new ManualPolicyClock(Start);
        var held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using PolicyGateway gw = await PolicyGateway.StartAsync(new TaskServer { ResultHeld = held }.Script, ResearchUntilFreeze, policyClock: clock);
        string alice = gw.Token("alice");
        (string session, string task) = await CreateTaskAsync(gw, alice);
        using RawClient stream = await OpenResultStreamAsync(gw, alice, task, $"Mcp-Session-Id: {session}\r\n");

        // The upstream sends nothing more (never released until the end): only the heartbeat can end the stream.
        clock.Advance(TimeSpan.FromHours(2));
        string rest = await ReadRestAsync(stream);
        held.SetResult();

        AssertRefusedOnStream(rest, "the tools/call 'research' that created the task: denied by the default");
        Assert.Equal(1, Ended(gw));
    }

    [Fact]
    public async Task A_sealed_task_bound_on_presentation_has_its_open_result_stream_decided_under_the_policy_of_that_replica()
    {
        using var replicas = new SealedReplicas();
        var held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var upstream = new TaskServer { ResultHeld = held };
        string alice = replicas.Token("alice");
        await using PolicyGateway a = await replicas.StartAsync(upstream.Script);
        await using PolicyGateway b = await replicas.StartAsync(upstream.Script);
        string task = await SealedReplicas.CreateTaskAsync(a, alice);
        // B never saw the creating call: it binds the task on presentation, as its tasks/result opens the stream.
        using RawClient stream = await OpenResultStreamAsync(b, alice, task);

        // Only B's policy changes: the stream there is refused.
        Reload(b, new RuleOptions { Name = "tasks-only", Action = "allow", Methods = ["tasks/*"] });
        held.SetResult();
        string rest = await ReadRestAsync(stream);

        Assert.DoesNotContain("SECOND-MARK", rest, StringComparison.Ordinal);
        JsonElement refusal = Assert.Single(Messages(rest));
        Assert.Equal(-32001, refusal.GetProperty("error").GetProperty("code").GetInt32());
        Assert.Equal("the call that created this task is no longer allowed: the tools/call 'research' that created the task: denied by the default",
            refusal.GetProperty("error").GetProperty("message").GetString());
        Assert.Equal(1, Ended(b));
        Assert.Equal(0, Ended(a));
    }
}
