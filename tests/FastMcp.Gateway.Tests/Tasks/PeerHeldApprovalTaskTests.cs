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
/// A revocation reaches every task its approval admitted, on every replica (docs/mcp-handling.md, "Tasks"; docs/approvals.md,
/// "Several replicas"): a task admitted by an approval this replica does not hold — a peer's grant (approvals.peers lookup),
/// or the approval id a sealed id carries from another replica — is admitted only while its holder, asked over the MACed
/// peer protocol, vouches for that approval. Real in-process replicas, each with its own admin listener and upstream.
/// </summary>
public sealed class PeerHeldApprovalTaskTests : IAsyncLifetime
{
    private static readonly RuleOptions Protocol = new() { Name = "protocol", Action = "allow", Methods = ["initialize", "notifications/*"] };
    private static readonly RuleOptions TasksRule = new() { Name = "tasks", Action = "allow", Methods = ["tasks/*"] };
    private static readonly RuleOptions Grant = new()
    {
        Name = "research-grant", Action = "require_approval", Methods = ["tools/call"], Names = ["research"], Approvers = ["release"], ApprovalMode = "grant",
        GrantWindowSeconds = 3600,
    };

    private readonly SealedReplicas _replicas = new();
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(30) };
    private readonly TaskServer _tasks = new();
    private readonly int[] _admin = [UnusedPort.Pick(), UnusedPort.Pick(), UnusedPort.Pick()];
    private readonly List<PolicyGateway> _started = [];
    private string _alice = "", _bob = "";

    public Task InitializeAsync()
    {
        _alice = _replicas.Token("alice", "dev");
        _bob = _replicas.Token("bob", "release");
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        foreach (PolicyGateway gw in _started) await gw.DisposeAsync();
        _http.Dispose();
        _replicas.Dispose();
    }

    /// <summary>
    /// Replica <paramref name="index"/>: its own admin listener, and the first <paramref name="peers"/> replicas' (its own among
    /// them, as the chart renders them) under approvals.peers.urls; none with 0; <paramref name="urls"/> instead when given.
    /// </summary>
    private async Task<PolicyGateway> ReplicaAsync(int index, bool sealedIds = true, int peers = 2, List<string>? urls = null)
    {
        PolicyGateway gw = await _replicas.StartAsync(_tasks.Script, [Protocol, Grant, TasksRule], o =>
        {
            o.Tasks.Sealed = sealedIds;
            o.Admin.Listen = $"127.0.0.1:{_admin[index]}";
            if (peers > 0) o.Approvals.Peers.Urls = urls ?? [.. _admin.Take(peers).Select(p => $"http://127.0.0.1:{p}")];
            o.Approvals.Peers.TimeoutMs = 2000;
        });
        _started.Add(gw);
        return gw;
    }

    private static string SessionCall(int id) =>
        "{\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"method\":\"tools/call\",\"params\":{\"name\":\"research\",\"arguments\":{\"q\":\"rates\"},\"task\":{\"ttl\":60000}}}";

    private static string TasksRequest(string method, string task) =>
        "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"" + method + "\",\"params\":{\"taskId\":\"" + task + "\"}}";

    private static JsonElement Json(RawResponse answer)
    {
        using var doc = JsonDocument.Parse(answer.Body);
        return doc.RootElement.Clone();
    }

    /// <summary>Alice asks on <paramref name="on"/> (pending there), and bob approves it there: the grant <paramref name="on"/> holds.</summary>
    private async Task<string> GrantAsync(PolicyGateway on, string? session = null)
    {
        RawResponse pending = session is null
            ? await SealedReplicas.CallAsync(on, _alice, """{"q":"rates"}""")
            : await on.PostAsync(SessionCall(2), _alice, $"Mcp-Session-Id: {session}\r\n");
        string approval = Json(pending).GetProperty("error").GetProperty("data").GetProperty("approvalId").GetString()!;
        Assert.Equal(HttpStatusCode.OK, await AdminPostAsync(on, $"/approvals/{approval}/approve", "{}"));
        return approval;
    }

    private async Task RevokeAsync(PolicyGateway holder, string approval) =>
        Assert.Equal(HttpStatusCode.OK, await AdminPostAsync(holder, $"/approvals/{approval}/revoke", """{"reason":"agent compromised"}"""));

    private async Task<HttpStatusCode> AdminPostAsync(PolicyGateway gw, string path, string body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri($"http://127.0.0.1:{gw.Gateway.AdminEndpoint.Port}{path}"))
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _bob);
        using HttpResponseMessage response = await _http.SendAsync(request);
        return response.StatusCode;
    }

    private static void AssertAdmitted(RawResponse answer)
    {
        Assert.Equal(200, answer.Status);
        Assert.False(Json(answer).TryGetProperty("error", out JsonElement error), error.ToString());
    }

    private static async Task<long> PeerFailuresAsync(PolicyGateway gw)
    {
        string metrics = await AdminGet.TextAsync(gw.Gateway.AdminEndpoint, "/metrics");
        foreach (string line in metrics.Split('\n'))
            if (line.StartsWith("fastmcp_approval_peer_failures_total ", StringComparison.Ordinal)) return long.Parse(line[(line.LastIndexOf(' ') + 1)..]);
        throw new Xunit.Sdk.XunitException("no fastmcp_approval_peer_failures_total in /metrics");
    }

    [Fact]
    public async Task A_revocation_on_the_holder_stops_the_task_a_peer_created_on_its_grant()
    {
        PolicyGateway a = await ReplicaAsync(0, sealedIds: false);
        PolicyGateway b = await ReplicaAsync(1, sealedIds: false);
        string approval = await GrantAsync(a, await SealedReplicas.InitializeAsync(a, _alice));

        // B holds no grant: its lookup finds A's, and the call creates a task bound on B.
        string session = await SealedReplicas.InitializeAsync(b, _alice);
        RawResponse created = await b.PostAsync(SessionCall(2), _alice, $"Mcp-Session-Id: {session}\r\n");
        string task = Json(created).GetProperty("result").GetProperty("task").GetProperty("taskId").GetString()!;
        AssertAdmitted(await b.PostAsync(TasksRequest("tasks/get", task), _alice, $"Mcp-Session-Id: {session}\r\n"));

        await RevokeAsync(a, approval);
        int forwarded = b.Upstream.Requests.Count;
        foreach (string method in new[] { "tasks/get", "tasks/result" })
            AssertRefused(await b.PostAsync(TasksRequest(method, task), _alice, $"Mcp-Session-Id: {session}\r\n"),
                $"approval {approval} held by peer http://127.0.0.1:{_admin[0]} that admitted it was revoked");
        Assert.Equal(forwarded, b.Upstream.Requests.Count);
        Assert.Equal(0, await PeerFailuresAsync(b));

        string[] records = await b.StopAndReadAuditAsync();
        Assert.Contains(records, r => r.Contains("(task-call-not-allowed)", StringComparison.Ordinal) && r.Contains($"approval {approval} held by peer", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_holder_that_cannot_be_asked_refuses_the_task_and_counts_the_failure()
    {
        PolicyGateway a = await ReplicaAsync(0, sealedIds: false);
        PolicyGateway b = await ReplicaAsync(1, sealedIds: false);
        string approval = await GrantAsync(a, await SealedReplicas.InitializeAsync(a, _alice));
        string session = await SealedReplicas.InitializeAsync(b, _alice);
        string task = Json(await b.PostAsync(SessionCall(2), _alice, $"Mcp-Session-Id: {session}\r\n")).GetProperty("result").GetProperty("task").GetProperty("taskId").GetString()!;
        AssertAdmitted(await b.PostAsync(TasksRequest("tasks/get", task), _alice, $"Mcp-Session-Id: {session}\r\n"));
        long failures = await PeerFailuresAsync(b);

        _started.Remove(a);
        await a.DisposeAsync();
        int forwarded = b.Upstream.Requests.Count;
        AssertRefused(await b.PostAsync(TasksRequest("tasks/get", task), _alice, $"Mcp-Session-Id: {session}\r\n"),
            $"approval {approval} that admitted it could not be confirmed");
        Assert.Equal(forwarded, b.Upstream.Requests.Count);
        Assert.True(await PeerFailuresAsync(b) > failures);
    }

    [Fact]
    public async Task A_sealed_id_presented_to_a_third_replica_is_admitted_while_the_holder_vouches_and_refused_once_revoked()
    {
        PolicyGateway a = await ReplicaAsync(0, peers: 3);
        PolicyGateway b = await ReplicaAsync(1, peers: 3);
        PolicyGateway c = await ReplicaAsync(2, peers: 3);
        string approval = await GrantAsync(a);
        // Created through B on A's grant: the sealed id carries the approval id, not who holds it.
        string task = await SealedReplicas.CreateTaskAsync(b, _alice, """{"q":"rates"}""");

        // C never saw the call nor the approval: it asks every peer, and A vouches for it.
        AssertAdmitted(await c.PostAsync(TasksRequest("tasks/get", task), _alice));
        AssertAdmitted(await c.PostAsync(TasksRequest("tasks/result", task), _alice));

        await RevokeAsync(a, approval);
        int forwarded = c.Upstream.Requests.Count;
        AssertRefused(await c.PostAsync(TasksRequest("tasks/get", task), _alice), $"approval {approval} held by peer http://127.0.0.1:{_admin[0]} that admitted it was revoked");
        Assert.Equal(forwarded, c.Upstream.Requests.Count);
        // The holder decides its own approval's tasks from its own state; B, which bound the task on A's grant, asks A.
        AssertRefused(await a.PostAsync(TasksRequest("tasks/get", task), _alice), $"approval {approval} that admitted it was revoked");
        AssertRefused(await b.PostAsync(TasksRequest("tasks/get", task), _alice), $"approval {approval} held by peer");
    }

    [Fact]
    public async Task A_peer_vouching_without_the_peer_key_admits_nothing()
    {
        // Says "approved" to anything, its signature made without the key.
        await using var fake = new SpoofedPeer("""{"state":"approved"}""");
        PolicyGateway a = await ReplicaAsync(0);
        PolicyGateway b = await ReplicaAsync(1, urls: [fake.Url]);
        string approval = await GrantAsync(a);
        string task = await SealedReplicas.CreateTaskAsync(a, _alice, """{"q":"rates"}""");

        int forwarded = b.Upstream.Requests.Count;
        AssertRefused(await b.PostAsync(TasksRequest("tasks/get", task), _alice),
            $"the approval {approval} that admitted it could not be confirmed: no replica vouched for it and 1 peer(s) did not answer");
        Assert.Equal(forwarded, b.Upstream.Requests.Count);
        Assert.Equal(1, await PeerFailuresAsync(b));
    }

    [Fact]
    public async Task A_sealed_id_naming_an_approval_no_replica_holds_is_refused()
    {
        PolicyGateway a = await ReplicaAsync(0);
        PolicyGateway b = await ReplicaAsync(1);
        await GrantAsync(a);
        string task = await SealedReplicas.CreateTaskAsync(a, _alice, """{"q":"rates"}""");
        AssertAdmitted(await b.PostAsync(TasksRequest("tasks/get", task), _alice));

        // The holder is gone for good (restarted without approvals.stateFile): B asks every peer, and none vouches.
        _started.Remove(a);
        await a.DisposeAsync();
        PolicyGateway restarted = await ReplicaAsync(0);
        AssertRefused(await b.PostAsync(TasksRequest("tasks/get", task), _alice), "no replica vouches for it");
        AssertRefused(await restarted.PostAsync(TasksRequest("tasks/get", task), _alice), "no replica vouches for it");
    }

    [Fact]
    public async Task Without_peers_a_task_admitted_by_another_replicas_approval_is_refused_with_the_reason()
    {
        PolicyGateway a = await ReplicaAsync(0, peers: 0);
        PolicyGateway b = await ReplicaAsync(1, peers: 0);
        string approval = await GrantAsync(a);
        string task = await SealedReplicas.CreateTaskAsync(a, _alice, """{"q":"rates"}""");
        AssertAdmitted(await a.PostAsync(TasksRequest("tasks/get", task), _alice));

        int forwarded = b.Upstream.Requests.Count;
        AssertRefused(await b.PostAsync(TasksRequest("tasks/get", task), _alice),
            $"the approval {approval} that admitted it is held by another replica, and without approvals.peers this one cannot ask whether it still stands");
        Assert.Equal(forwarded, b.Upstream.Requests.Count);
    }
}
