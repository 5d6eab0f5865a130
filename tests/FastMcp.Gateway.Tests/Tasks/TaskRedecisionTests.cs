using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Policy;
using static FastMcp.Gateway.Tests.Tasks.TaskRedecisions;

namespace FastMcp.Gateway.Tests.Tasks;

/// <summary>
/// A task does not outlive the decision that allowed the call creating it (docs/mcp-handling.md, "Tasks"): after a policy
/// reload, a request on the task is admitted only while that call, by the same caller, would still be allowed now; a
/// revoked grant stops the tasks it admitted. Through the in-process gateway, a task-capable scripted upstream and the audit log.
/// </summary>
public sealed class TaskRedecisionTests
{
    private static void AssertRefused(RawResponse answer, string because) =>
        Assert.Equal(3, TaskRedecisions.AssertRefused(answer, because).GetProperty("id").GetInt32());

    [Theory]
    [InlineData("tasks/get")]
    [InlineData("tasks/result")]
    [InlineData("tasks/update")]
    [InlineData("tasks/cancel")]
    public async Task A_reload_that_denies_the_tool_refuses_every_request_on_its_task_and_records_why(string method)
    {
        await using PolicyGateway gw = await PolicyGateway.StartAsync(new TaskServer().Script, Rules);
        string alice = gw.Token("alice");
        (string session, string task) = await CreateTaskAsync(gw, alice);
        Assert.Equal(200, (await gw.PostAsync(TasksRequest("tasks/get", task), alice, $"Mcp-Session-Id: {session}\r\n")).Status);
        int forwarded = gw.Upstream.Requests.Count;

        // The tool is no longer allowed (the default denies it); tasks/* still is.
        Reload(gw, Protocol, TasksRule);
        RawResponse answer = await gw.PostAsync(TasksRequest(method, task), alice, $"Mcp-Session-Id: {session}\r\n");

        AssertRefused(answer, "denied by the default");
        Assert.DoesNotContain("rates", answer.Body, StringComparison.Ordinal);
        Assert.Equal(forwarded, gw.Upstream.Requests.Count);
        string[] records = await gw.StopAndReadAuditAsync();
        string refusal = Assert.Single(records, r => r.Contains("\"type\":\"Denied\"", StringComparison.Ordinal) && r.Contains(method, StringComparison.Ordinal));
        using var record = JsonDocument.Parse(refusal);
        Assert.Equal("(task-call-not-allowed)", record.RootElement.GetProperty("rule").GetString());
        Assert.Equal("the tools/call 'research' that created the task: denied by the default", record.RootElement.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task A_reload_that_denies_the_caller_refuses_their_task_and_not_another_callers()
    {
        await using PolicyGateway gw = await PolicyGateway.StartAsync(new TaskServer().Script, Rules);
        string alice = gw.Token("alice"), bob = gw.Token("bob");
        (string aliceSession, string aliceTask) = await CreateTaskAsync(gw, alice);
        (string bobSession, string bobTask) = await CreateTaskAsync(gw, bob);

        Reload(gw, new RuleOptions { Name = "alice-revoked", Action = "deny", Methods = ["tools/call"], Subjects = ["alice"] }, Protocol, Research, TasksRule);

        AssertRefused(await gw.PostAsync(TasksRequest("tasks/result", aliceTask), alice, $"Mcp-Session-Id: {aliceSession}\r\n"), "denied by rule 'alice-revoked'");
        RawResponse bobs = await gw.PostAsync(TasksRequest("tasks/result", bobTask), bob, $"Mcp-Session-Id: {bobSession}\r\n");
        Assert.Equal(200, bobs.Status);
        Assert.Contains("rates", bobs.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_reload_that_still_allows_the_call_keeps_its_task_and_a_token_with_other_groups_is_decided_again()
    {
        var research = new RuleOptions { Name = "research-analysts", Action = "allow", Methods = ["tools/call"], Names = ["research"], Groups = ["analysts"] };
        await using PolicyGateway gw = await PolicyGateway.StartAsync(new TaskServer().Script, [Protocol, research, TasksRule]);
        string analyst = gw.Token("alice", "analysts");
        (string session, string task) = await CreateTaskAsync(gw, analyst);

        // A reload that changes nothing for this call: the task goes on.
        Reload(gw, Protocol, new RuleOptions { Name = "other", Action = "deny", Methods = ["tools/call"], Names = ["wire"] }, research, TasksRule);
        RawResponse kept = await gw.PostAsync(TasksRequest("tasks/result", task), analyst, $"Mcp-Session-Id: {session}\r\n");
        Assert.Equal(200, kept.Status);
        Assert.Contains("rates", kept.Body, StringComparison.Ordinal);

        // The same subject with a fresh token no longer in the group: the call would not be allowed to her now.
        string former = gw.Token("alice", "interns");
        AssertRefused(await gw.PostAsync(TasksRequest("tasks/result", task), former, $"Mcp-Session-Id: {session}\r\n"), "denied by the default");
    }

    [Fact]
    public async Task After_a_reload_an_argument_condition_is_decided_on_the_arguments_the_task_was_created_with()
    {
        await using PolicyGateway gw = await PolicyGateway.StartAsync(new TaskServer().Script, Rules);
        string alice = gw.Token("alice");
        (string session, string small) = await CreateTaskAsync(gw, alice, """{"amount":5}""");
        (_, string large) = await CreateTaskAsync(gw, alice, """{"amount":5000}""");

        Reload(gw, Protocol, new RuleOptions
        {
            Name = "no-large-research", Action = "deny", Methods = ["tools/call"], Names = ["research"],
            Arguments = [new ArgumentConditionOptions { Pointer = "/amount", GreaterThan = 100 }],
        }, Research, TasksRule);

        RawResponse kept = await gw.PostAsync(TasksRequest("tasks/result", small), alice, $"Mcp-Session-Id: {session}\r\n");
        Assert.Equal(200, kept.Status);
        Assert.Contains("amount", kept.Body, StringComparison.Ordinal);
        AssertRefused(await gw.PostAsync(TasksRequest("tasks/result", large), alice, $"Mcp-Session-Id: {session}\r\n"), "denied by rule 'no-large-research'");
    }

    [Fact]
    public async Task A_task_whose_arguments_held_a_card_number_is_refused_once_a_rule_reading_arguments_must_decide_it_again()
    {
        await using PolicyGateway gw = await PolicyGateway.StartAsync(new TaskServer().Script, Rules);
        string alice = gw.Token("alice");
        (string session, string task) = await CreateTaskAsync(gw, alice, """{"card":"4111111111111111","amount":5}""");

        // A reload whose rules never read arguments on this call's path decides it without them: kept.
        Reload(gw, Protocol, new RuleOptions { Name = "other", Action = "deny", Methods = ["tools/call"], Names = ["wire"] }, Research, TasksRule);
        Assert.Equal(200, (await gw.PostAsync(TasksRequest("tasks/get", task), alice, $"Mcp-Session-Id: {session}\r\n")).Status);

        // One with an argument condition on the path: the gateway did not keep arguments holding a card number, so it
        // cannot decide the call again, and refuses (fail closed) rather than guess.
        Reload(gw, Protocol, new RuleOptions
        {
            Name = "no-large-research", Action = "deny", Methods = ["tools/call"], Names = ["research"],
            Arguments = [new ArgumentConditionOptions { Pointer = "/amount", GreaterThan = 100 }],
        }, Research, TasksRule);
        AssertRefused(await gw.PostAsync(TasksRequest("tasks/get", task), alice, $"Mcp-Session-Id: {session}\r\n"), "(arguments-not-kept)");
        string[] records = await gw.StopAndReadAuditAsync();
        Assert.DoesNotContain(records, r => r.Contains("4111111111111111", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_revoked_grant_stops_the_task_its_call_created()
    {
        var grant = new RuleOptions
        {
            Name = "research-grant", Action = "require_approval", Methods = ["tools/call"], Names = ["research"], Approvers = ["release"], ApprovalMode = "grant",
            GrantWindowSeconds = 3600,
        };
        await using PolicyGateway gw = await PolicyGateway.StartAsync(new TaskServer().Script, [Protocol, grant, TasksRule]);
        string alice = gw.Token("alice"), bob = gw.Token("bob", "release");
        string session = (await gw.PostAsync(Initialize, alice)).Header("Mcp-Session-Id")!;
        RawResponse pending = await gw.PostAsync(Call("""{"q":"rates"}"""), alice, $"Mcp-Session-Id: {session}\r\n");
        string approval;
        using (var doc = JsonDocument.Parse(pending.Body)) approval = doc.RootElement.GetProperty("error").GetProperty("data").GetProperty("approvalId").GetString()!;
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        Assert.Equal(HttpStatusCode.OK, await AdminPostAsync(http, gw, $"/approvals/{approval}/approve", "{}", bob));
        RawResponse created = await gw.PostAsync(Call("""{"q":"rates"}"""), alice, $"Mcp-Session-Id: {session}\r\n");
        string task;
        using (var doc = JsonDocument.Parse(created.Body)) task = doc.RootElement.GetProperty("result").GetProperty("task").GetProperty("taskId").GetString()!;
        Assert.Equal(200, (await gw.PostAsync(TasksRequest("tasks/get", task), alice, $"Mcp-Session-Id: {session}\r\n")).Status);

        Assert.Equal(HttpStatusCode.OK, await AdminPostAsync(http, gw, $"/approvals/{approval}/revoke", """{"reason":"agent compromised"}""", bob));
        int forwarded = gw.Upstream.Requests.Count;

        AssertRefused(await gw.PostAsync(TasksRequest("tasks/result", task), alice, $"Mcp-Session-Id: {session}\r\n"), $"approval {approval} that admitted it was revoked");
        Assert.Equal(forwarded, gw.Upstream.Requests.Count);
    }

    [Fact]
    public async Task A_sealed_task_bound_on_presentation_is_decided_again_after_a_reload_there_as_where_its_call_was_seen()
    {
        using var replicas = new SealedReplicas();
        var upstream = new TaskServer();
        string alice = replicas.Token("alice");
        await using PolicyGateway a = await replicas.StartAsync(upstream.Script);
        await using PolicyGateway b = await replicas.StartAsync(upstream.Script);
        string task = await SealedReplicas.CreateTaskAsync(a, alice);
        Assert.DoesNotContain("\"error\"", (await b.PostAsync(TasksRequest("tasks/get", task), alice)).Body, StringComparison.Ordinal);

        // B never saw the creating call, but the sealed id carries it: a reload that still allows it keeps the task there.
        foreach (PolicyGateway replica in new[] { a, b }) Reload(replica, new RuleOptions { Name = "all-again", Action = "allow" });
        foreach (PolicyGateway replica in new[] { a, b })
        {
            RawResponse kept = await replica.PostAsync(TasksRequest("tasks/result", task), alice);
            Assert.Equal(200, kept.Status);
            Assert.DoesNotContain("\"error\"", kept.Body, StringComparison.Ordinal);
        }

        // One that denies the tool refuses it on both, with the same reason.
        foreach (PolicyGateway replica in new[] { a, b }) Reload(replica, new RuleOptions { Name = "tasks-only", Action = "allow", Methods = ["tasks/*"] });
        int forwarded = b.Upstream.Requests.Count;
        foreach (PolicyGateway replica in new[] { a, b }) AssertRefused(await replica.PostAsync(TasksRequest("tasks/result", task), alice), "denied by the default");
        Assert.Equal(forwarded, b.Upstream.Requests.Count);
    }

    private static async Task<HttpStatusCode> AdminPostAsync(HttpClient http, PolicyGateway gw, string path, string body, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri($"http://127.0.0.1:{gw.Gateway.AdminEndpoint.Port}{path}"))
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using HttpResponseMessage response = await http.SendAsync(request);
        return response.StatusCode;
    }

    [Fact]
    public async Task A_task_an_approved_held_call_created_is_admitted_on_each_requests_own_token_not_on_the_one_that_created_it()
    {
        var held = new RuleOptions { Name = "research-held", Action = "require_approval", Methods = ["tools/call"], Names = ["research"], Approvers = ["release"] };
        await using PolicyGateway gw = await PolicyGateway.StartAsync(new TaskServer().Script, [Protocol, held, TasksRule], o =>
        {
            o.Identity!.ClockSkewSeconds = 0;
            o.Approvals.KeepAliveSeconds = 1;
        });
        TimeSpan lifetime = TimeSpan.FromSeconds(4);
        DateTimeOffset minted = DateTimeOffset.UtcNow;
        string shortLived = gw.ShortLivedToken("alice", lifetime);
        string session = (await gw.PostAsync(Initialize, shortLived)).Header("Mcp-Session-Id")!;

        // The creating call, held (a JSON-only client), approved while its token is still valid.
        using RawClient creating = await gw.Gateway.ConnectAsync();
        string call = Call("""{"q":"rates"}""");
        await creating.SendAsync($"POST /mcp HTTP/1.1\r\nHost: {gw.Gateway.Authority}\r\nContent-Type: application/json\r\nAccept: application/json\r\n"
            + $"Authorization: Bearer {shortLived}\r\nMcp-Session-Id: {session}\r\nContent-Length: {Encoding.UTF8.GetByteCount(call)}\r\n\r\n{call}");
        await Stages.HeldCallTokenTests.ApproveAsync(gw, await Stages.HeldCallTokenTests.WaitForPendingAsync(gw));
        RawResponse created = await creating.ReadResponseAsync("the approved call's answer");
        Assert.True(created.Status == 200, created.Body);
        string task;
        using (var doc = JsonDocument.Parse(created.Body)) task = doc.RootElement.GetProperty("result").GetProperty("task").GetProperty("taskId").GetString()!;

        // Each request on the task is admitted on its own token: the creating one, expired, is refused before anything else.
        TimeSpan left = minted + lifetime + TimeSpan.FromMilliseconds(200) - DateTimeOffset.UtcNow;
        if (left > TimeSpan.Zero) await Task.Delay(left);
        int forwarded = gw.Upstream.Requests.Count;
        Assert.Equal(401, (await gw.PostAsync(TasksRequest("tasks/result", task), shortLived, $"Mcp-Session-Id: {session}\r\n")).Status);
        Assert.Equal(forwarded, gw.Upstream.Requests.Count);
        RawResponse fresh = await gw.PostAsync(TasksRequest("tasks/result", task), gw.Token("alice"), $"Mcp-Session-Id: {session}\r\n");
        Assert.Equal(200, fresh.Status);
        Assert.Contains("rates", fresh.Body, StringComparison.Ordinal);
    }
}
