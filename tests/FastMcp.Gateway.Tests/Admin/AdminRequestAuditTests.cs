using System.Net;
using System.Text.Json;
using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests.Admin;

/// <summary>
/// The admin listener's answers on the record, over real sockets to the real gateway and read back from its audit log: an
/// approver's look at pending calls' arguments and an operator's at the tool estate each leave an AdminRequest record (who,
/// path, query, address, status; never the token); an applied decision is recorded once, by its own record; probes and
/// scrapes leave none; a burst past the per-caller budget is refused with 429 and recorded in aggregate.
/// </summary>
[Collection(LogOutputCollection.Name)]
public sealed class AdminRequestAuditTests
{
    private const string Card = "4111111111111111";

    private static Task<PolicyGateway> StartAsync(Action<GatewayOptions>? configure = null) =>
        PolicyGateway.StartAsync(UpstreamScripts.Echo,
            [
                new RuleOptions { Name = "held", Action = "require_approval", Methods = ["tools/call"], Approvers = ["release"], ApprovalMode = "grant", GrantWindowSeconds = 600 },
                new RuleOptions { Name = "rest", Action = "allow" },
            ],
            o =>
            {
                o.ToolPins = new ToolPinOptions { Mode = "record" };
                o.Admin.OperatorGroups = ["sre"];
                configure?.Invoke(o);
            });

    private static async Task<string> HoldACallAsync(PolicyGateway gw)
    {
        RawResponse held = await gw.PostAsync("{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{\"name\":\"refund\",\"arguments\":{\"card\":\"" + Card + "\"}}}",
            gw.Token("alice", "dev"));
        Assert.Contains("-32002", held.Body, StringComparison.Ordinal);
        (HttpStatusCode status, JsonElement list) = await AdminRequests.AdminAsync(gw, HttpMethod.Get, "/approvals", null, gw.Token("dave", "release"));
        Assert.Equal(HttpStatusCode.OK, status);
        return list.GetProperty("approvals")[0].GetProperty("id").GetString()!;
    }

    private static List<JsonElement> Records(string[] lines, string type) =>
        [.. lines.Select(l => JsonDocument.Parse(l).RootElement).Where(r => r.GetProperty("type").GetString() == type)];

    private static string? Member(JsonElement e, string parent, string name) =>
        e.TryGetProperty(parent, out JsonElement p) && p.TryGetProperty(name, out JsonElement v) ? v.GetString() : null;

    [Fact]
    public async Task An_approvers_reads_and_an_operators_read_are_recorded_an_applied_decision_once_and_probes_not_at_all()
    {
        await using PolicyGateway gw = await StartAsync();
        string id = await HoldACallAsync(gw);
        string bob = gw.Token("bob", "release");

        Assert.Equal(HttpStatusCode.OK, (await AdminRequests.AdminAsync(gw, HttpMethod.Get, "/approvals?state=all", null, bob)).Status);
        (HttpStatusCode status, JsonElement detail) = await AdminRequests.AdminAsync(gw, HttpMethod.Get, "/approvals/" + id, null, bob);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("411111", detail.GetRawText(), StringComparison.Ordinal); // the masked arguments were shown
        Assert.Equal(HttpStatusCode.NotFound, (await AdminRequests.AdminAsync(gw, HttpMethod.Get, "/approvals/no-such-id", null, bob)).Status);
        Assert.Equal(HttpStatusCode.OK, (await AdminRequests.AdminAsync(gw, HttpMethod.Post, $"/approvals/{id}/approve", "{}", bob)).Status);
        Assert.Equal(HttpStatusCode.Conflict, (await AdminRequests.AdminAsync(gw, HttpMethod.Post, $"/approvals/{id}/approve", "{}", bob)).Status);
        Assert.Equal(200, (await AdminGet.ResponseAsync(gw.Gateway.AdminEndpoint, "/tools/observed", $"Authorization: Bearer {gw.Token("carol", "sre")}\r\n")).Status);
        foreach (string probe in (string[])["/healthz", "/readyz", "/metrics"])
            Assert.Equal(200, (await AdminGet.ResponseAsync(gw.Gateway.AdminEndpoint, probe)).Status);
        // A refusal for the credential stays counted, not recorded (anyone reaching the listener can cause it).
        Assert.Equal(401, (await AdminGet.ResponseAsync(gw.Gateway.AdminEndpoint, "/approvals")).Status);
        Assert.Equal(5, await AdminGet.MetricAsync(gw.Gateway.AdminEndpoint, "fastmcp_admin_requests_recorded_total{view=\"approvals\"}"));

        string[] lines = await gw.StopAndReadAuditAsync();
        Assert.DoesNotContain(lines, l => l.Contains(bob, StringComparison.Ordinal));
        List<JsonElement> admin = Records(lines, "AdminRequest");
        string[] seen = [.. admin.Select(r => $"{Member(r, "user", "subject")} {Member(r, "component", "method")} {Member(r, "component", "target")} "
            + $"{Member(r, "component", "query")} {r.GetProperty("httpStatus").GetInt32()} {r.GetProperty("success").GetBoolean()} {r.GetProperty("detail").GetString()}")];
        Assert.Equal(
            [
                "dave GET /approvals  200 True admin: approvals list",
                "bob GET /approvals state=all 200 True admin: approvals list",
                $"bob GET /approvals/{id}  200 True admin: approval",
                "bob GET /approvals/no-such-id  404 False admin: approval",
                $"bob POST /approvals/{id}/approve  409 False admin: approval decision, not applied",
                "carol GET /tools/observed  200 True admin: observed tools",
            ], seen);
        Assert.All(admin, r => Assert.Equal("127.0.0.1", Member(r, "origin", "address")));
        Assert.Equal(["release"], admin[2].GetProperty("user").GetProperty("groups").EnumerateArray().Select(g => g.GetString()!));
        // The decision that applied is the ApprovalGranted record alone.
        Assert.Single(Records(lines, "ApprovalGranted"));
    }

    [Fact]
    public async Task A_burst_past_the_callers_budget_is_refused_429_counted_and_recorded_in_aggregate_while_others_are_served()
    {
        await using PolicyGateway gw = await StartAsync(o => o.Admin.RecordedRequestsPerMinute = 3);
        string carol = gw.Token("carol", "sre");
        var statuses = new List<int>();
        for (int i = 0; i < 6; i++)
        {
            RawResponse r = await AdminGet.ResponseAsync(gw.Gateway.AdminEndpoint, "/tools/observed", $"Authorization: Bearer {carol}\r\n");
            statuses.Add(r.Status);
            if (r.Status == 429) Assert.True(int.Parse(r.Header("Retry-After")!, System.Globalization.CultureInfo.InvariantCulture) >= 1);
        }
        // A minute's budget of 3 refills one token in 20 s: the loop takes far less.
        Assert.Equal([200, 200, 200, 429, 429, 429], statuses);
        // Another caller has a budget of its own.
        Assert.Equal(200, (await AdminGet.ResponseAsync(gw.Gateway.AdminEndpoint, "/tools/observed", $"Authorization: Bearer {gw.Token("erin", "sre")}\r\n")).Status);
        Assert.Equal(3, await AdminGet.MetricAsync(gw.Gateway.AdminEndpoint, "fastmcp_admin_requests_throttled_total{view=\"tools_observed\"}"));
        Assert.Equal(4, await AdminGet.MetricAsync(gw.Gateway.AdminEndpoint, "fastmcp_admin_requests_recorded_total{view=\"tools_observed\"}"));

        List<JsonElement> admin = Records(await gw.StopAndReadAuditAsync(), "AdminRequest");
        Assert.Equal(4, admin.Count(r => r.GetProperty("httpStatus").GetInt32() == 200));
        JsonElement aggregate = Assert.Single(admin, r => r.GetProperty("httpStatus").GetInt32() == 429);
        Assert.Equal("carol", Member(aggregate, "user", "subject"));
        Assert.False(aggregate.GetProperty("success").GetBoolean());
        Assert.Equal("3 admin request(s) refused with 429 in the last 60s: over admin.recordedRequestsPerMinute (3) (recorded in aggregate)",
            aggregate.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task Tools_observed_served_open_is_recorded_by_client_address_without_a_user()
    {
        await using PolicyGateway gw = await StartAsync(o => o.Admin.ToolsObservedAccess = AdminOptions.OpenAccess);
        Assert.Equal(200, (await AdminGet.ResponseAsync(gw.Gateway.AdminEndpoint, "/tools/observed?upstream=x")).Status);
        JsonElement record = Assert.Single(Records(await gw.StopAndReadAuditAsync(), "AdminRequest"));
        Assert.Null(Member(record, "user", "subject"));
        Assert.Equal("127.0.0.1", Member(record, "origin", "address"));
        Assert.Equal("upstream=x", Member(record, "component", "query"));
    }

    [Fact]
    public async Task An_answer_the_audit_log_cannot_record_is_not_sent_and_the_caller_gets_503()
    {
        using var dir = new FastMcp.Audit.Tests.TempAuditDirectory();
        var disk = new FastMcp.Audit.Tests.FaultyFileSystem();
        await using FastMcp.Audit.AuditLog log = await FastMcp.Audit.AuditLog.OpenAsync(dir.Options(), disk);
        var trail = new Gateway.Admin.AdminRequestTrail(new Gateway.Stages.AuditRecording(log, null), 60);
        var shown = new Gateway.Hosting.LocalResponse(200, "application/json", "{\"approvals\":[]}"u8.ToArray());
        var bob = new FastMcp.Identity.Principal("bob", ["release"], [], null, "https://idp.example", DateTimeOffset.UtcNow.AddMinutes(5));

        Assert.Same(shown.Body, (await trail.RecordAsync(Gateway.Admin.AdminView.Approvals, bob, "10.0.0.7", "GET", "/approvals", "", "admin: approvals list", shown)).Body);
        disk.Full = true;
        Gateway.Hosting.LocalResponse refused = await trail.RecordAsync(Gateway.Admin.AdminView.Approvals, bob, "10.0.0.7", "GET", "/approvals", "", "admin: approvals list", shown);
        Assert.Equal(503, refused.Status);
        Assert.Contains("could not be recorded, so it is not answered", System.Text.Encoding.UTF8.GetString(refused.Body), StringComparison.Ordinal);
        var metrics = new System.Text.StringBuilder();
        trail.Render(metrics);
        Assert.Contains("fastmcp_admin_requests_recorded_total{view=\"approvals\"} 1\n", metrics.ToString(), StringComparison.Ordinal);
    }
}
