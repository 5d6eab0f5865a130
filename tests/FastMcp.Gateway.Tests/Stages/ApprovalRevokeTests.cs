using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using FastMcp.Audit;
using FastMcp.Audit.Tests;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Identity;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// An approver takes back an open grant before its window closes (POST /approvals/{id}/revoke), over real sockets: the
/// identical call is no longer admitted and needs a new approval, the revocation is recorded before it applies and
/// announced by the webhook, and who may not decide the approval may not revoke it either.
/// </summary>
public sealed class ApprovalRevokeTests : IAsyncLifetime
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "fastmcp-revoke-" + Guid.NewGuid().ToString("N"));
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(30) };
    private readonly HttpRecordReceiver _webhook = new();
    private ScriptedUpstream _upstream = null!;
    private GatewayUnderTest _gateway = null!;
    private bool _stopped;
    private string _alice = "", _bob = "", _dave = "", _frank = "", _carol = "", _aliceReleasing = "";

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_dir);
        string secretFile = Path.Combine(_dir, "webhook.secret");
        await File.WriteAllTextAsync(secretFile, "webhook-secret-for-the-revoke-test");
        _upstream = new ScriptedUpstream(UpstreamScripts.Echo);
        _gateway = await GatewayUnderTest.StartWithStagesAsync(_upstream.Url, options =>
        {
            options.Identity = new IdentityOptions { Mode = IdentityModes.Dev, Resource = "http://127.0.0.1/mcp", DevKeyDirectory = Path.Combine(_dir, "dev") };
            options.Policy = new PolicyOptions
            {
                Rules =
                [
                    new RuleOptions { Name = "echo-grant", Action = "require_approval", Methods = ["tools/call"], Names = ["echo"], Approvers = ["release"], ApprovalMode = "grant",
                        GrantWindowSeconds = 3600 },
                    new RuleOptions { Name = "short-grant", Action = "require_approval", Methods = ["tools/call"], Names = ["short"], Approvers = ["release"], ApprovalMode = "grant",
                        GrantWindowSeconds = 1 },
                    new RuleOptions { Name = "add-finance", Action = "require_approval", Methods = ["tools/call"], Names = ["add"], Approvers = ["finance"] },
                    new RuleOptions { Name = "rest", Action = "allow" },
                ],
            };
            options.Approvals.ApproverGroups = ["approvers"];
            options.Approvals.Webhook = new Approvals.WebhookOptions { Url = _webhook.Url, SecretFile = secretFile, MaxAttempts = 1 };
            options.Audit = new AuditOptions { Directory = Path.Combine(_dir, "audit"), ChainId = "test" };
        });
        using DevKey key = DevKeys.LoadOrCreate(Path.Combine(_dir, "dev"));
        string Mint(string subject, params string[] groups) => key.Mint(subject, groups, [], null, DevKeys.Audience, DateTimeOffset.UtcNow, TimeSpan.FromMinutes(10));
        _alice = Mint("alice", "dev");
        _bob = Mint("bob", "release");
        _dave = Mint("dave", "release");
        _frank = Mint("frank", "finance");
        _carol = Mint("carol", "approvers");
        _aliceReleasing = Mint("alice", "dev", "release");
    }

    public async Task DisposeAsync()
    {
        if (!_stopped) await _gateway.DisposeAsync();
        await _upstream.DisposeAsync();
        await _webhook.DisposeAsync();
        _http.Dispose();
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    private static string EchoCall(int id, string message = "deploy") =>
        "{\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"method\":\"tools/call\",\"params\":{\"name\":\"echo\",\"arguments\":{\"message\":\"" + message + "\"}}}";

    private Task<JsonElement> CallAsync(string json, string? token = null) => _gateway.CallJsonAsync(_http, json, token ?? _alice);

    private static string PendingId(JsonElement answer)
    {
        Assert.True(answer.TryGetProperty("error", out JsonElement error), "the call was admitted: " + answer);
        Assert.Equal(-32002, error.GetProperty("code").GetInt32());
        Assert.Equal("pending", error.GetProperty("data").GetProperty("status").GetString());
        return error.GetProperty("data").GetProperty("approvalId").GetString()!;
    }

    private static void AssertAdmitted(JsonElement answer, int id)
    {
        Assert.False(answer.TryGetProperty("error", out _), answer.ToString());
        Assert.Equal(id, answer.GetProperty("id").GetInt32());
    }

    private async Task<(HttpStatusCode Status, JsonElement Body)> AdminAsync(HttpMethod method, string path, string? body, string token)
    {
        using var request = new HttpRequestMessage(method, new Uri($"http://127.0.0.1:{_gateway.AdminEndpoint.Port}{path}"));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        if (body is not null) request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        using HttpResponseMessage response = await _http.SendAsync(request);
        using JsonDocument document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return (response.StatusCode, document.RootElement.Clone());
    }

    /// <summary>An approved grant for alice's identical echo call, executed <paramref name="executions"/> times.</summary>
    private async Task<string> OpenGrantAsync(int executions, string message = "deploy")
    {
        string id = PendingId(await CallAsync(EchoCall(1, message)));
        Assert.Equal(HttpStatusCode.OK, (await AdminAsync(HttpMethod.Post, $"/approvals/{id}/approve", "{}", _bob)).Status);
        for (int i = 0; i < executions; i++) AssertAdmitted(await CallAsync(EchoCall(10 + i, message)), 10 + i);
        return id;
    }

    [Fact]
    public async Task A_revoked_grant_no_longer_admits_the_identical_call_which_then_needs_a_new_approval()
    {
        string id = await OpenGrantAsync(executions: 2);

        var (revoked, view) = await AdminAsync(HttpMethod.Post, $"/approvals/{id}/revoke", """{"reason":"agent compromised"}""", _dave);
        Assert.Equal(HttpStatusCode.OK, revoked);
        Assert.Equal("revoked", view.GetProperty("state").GetString());
        Assert.Equal("dave", view.GetProperty("revokedBy").GetString());
        Assert.True(view.TryGetProperty("revokedAt", out _));
        Assert.Equal("agent compromised", view.GetProperty("reason").GetString());
        Assert.Equal(2, view.GetProperty("executions").GetInt32());

        // The identical call opens a new pending approval; the upstream saw only the two calls made before.
        string next = PendingId(await CallAsync(EchoCall(20)));
        Assert.NotEqual(id, next);
        Assert.Equal(next, PendingId(await CallAsync(EchoCall(21))));
        Assert.Equal(2, _upstream.Requests.Count);

        // Retained and listed as revoked; the new approval is the one pending.
        var (listed, all) = await AdminAsync(HttpMethod.Get, "/approvals?state=all", null, _bob);
        Assert.Equal(HttpStatusCode.OK, listed);
        JsonElement shown = all.GetProperty("approvals").EnumerateArray().Single(a => a.GetProperty("id").GetString() == id);
        Assert.Equal("revoked", shown.GetProperty("state").GetString());
        Assert.Equal("dave", shown.GetProperty("revokedBy").GetString());
        var (_, pending) = await AdminAsync(HttpMethod.Get, "/approvals", null, _bob);
        Assert.Equal(next, Assert.Single(pending.GetProperty("approvals").EnumerateArray()).GetProperty("id").GetString());

        // A new approval admits the call again.
        Assert.Equal(HttpStatusCode.OK, (await AdminAsync(HttpMethod.Post, $"/approvals/{next}/approve", "{}", _bob)).Status);
        AssertAdmitted(await CallAsync(EchoCall(22)), 22);
        Assert.Equal(3, _upstream.Requests.Count);
    }

    [Fact]
    public async Task Only_an_open_grant_can_be_revoked_anything_else_is_a_conflict_showing_the_approval()
    {
        string pending = PendingId(await CallAsync(EchoCall(1, "pending")));
        string denied = PendingId(await CallAsync(EchoCall(2, "denied")));
        Assert.Equal(HttpStatusCode.OK, (await AdminAsync(HttpMethod.Post, $"/approvals/{denied}/deny", """{"reason":"no"}""", _bob)).Status);
        string twice = await OpenGrantAsync(executions: 0, message: "twice");
        Assert.Equal(HttpStatusCode.OK, (await AdminAsync(HttpMethod.Post, $"/approvals/{twice}/revoke", """{"reason":"first"}""", _bob)).Status);

        foreach ((string id, string state) in new[] { (pending, "pending"), (denied, "denied"), (twice, "revoked") })
        {
            var (status, body) = await AdminAsync(HttpMethod.Post, $"/approvals/{id}/revoke", """{"reason":"again"}""", _bob);
            Assert.Equal(HttpStatusCode.Conflict, status);
            Assert.Equal(id, body.GetProperty("approval").GetProperty("id").GetString());
            Assert.Equal(state, body.GetProperty("approval").GetProperty("state").GetString());
        }
        var (unknown, _) = await AdminAsync(HttpMethod.Post, "/approvals/apr_unknown/revoke", """{"reason":"x"}""", _bob);
        Assert.Equal(HttpStatusCode.NotFound, unknown);
    }

    [Fact]
    public async Task A_grant_whose_window_closed_cannot_be_revoked()
    {
        string id = PendingId(await CallAsync("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"short\",\"arguments\":{}}}"));
        var (_, approved) = await AdminAsync(HttpMethod.Post, $"/approvals/{id}/approve", "{}", _bob);
        DateTime until = DateTime.Parse(approved.GetProperty("grantUntil").GetString()!, null, System.Globalization.DateTimeStyles.AdjustToUniversal);
        // A one-second window: waited out (bounded).
        for (int i = 0; i < 100 && DateTime.UtcNow <= until.AddMilliseconds(50); i++) await Task.Delay(50);
        Assert.True(DateTime.UtcNow > until);

        var (status, body) = await AdminAsync(HttpMethod.Post, $"/approvals/{id}/revoke", """{"reason":"too late"}""", _bob);
        Assert.Equal(HttpStatusCode.Conflict, status);
        Assert.Contains("window", body.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal("approved", body.GetProperty("approval").GetProperty("state").GetString());
    }

    [Fact]
    public async Task Who_may_not_decide_the_approval_may_not_revoke_it_and_a_reason_is_required()
    {
        string id = await OpenGrantAsync(executions: 1);

        // frank approves another rule; carol is in approvals.approverGroups but the rule names its own; alice is no approver.
        foreach (string outsider in new[] { _frank, _carol, _alice })
        {
            var (status, body) = await AdminAsync(HttpMethod.Post, $"/approvals/{id}/revoke", """{"reason":"no"}""", outsider);
            Assert.Equal(HttpStatusCode.Forbidden, status);
            Assert.Equal(["error"], body.EnumerateObject().Select(p => p.Name).ToArray());
        }
        foreach (string bad in new[] { "", "{}", """{"reason":"   "}""", "{\"reason\":\"" + new string('x', 1001) + "\"}", "not json" })
        {
            var (status, _) = await AdminAsync(HttpMethod.Post, $"/approvals/{id}/revoke", bad, _bob);
            Assert.Equal(HttpStatusCode.BadRequest, status);
        }
        using (var anonymous = new HttpRequestMessage(HttpMethod.Post, new Uri($"http://127.0.0.1:{_gateway.AdminEndpoint.Port}/approvals/{id}/revoke")))
        {
            anonymous.Content = new StringContent("""{"reason":"x"}""", Encoding.UTF8, "application/json");
            using HttpResponseMessage response = await _http.SendAsync(anonymous);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }
        // Nothing of that took the grant back.
        AssertAdmitted(await CallAsync(EchoCall(30)), 30);

        // The requester may give up her own grant once she is an approver of it: revoking only takes access away.
        var (own, ownView) = await AdminAsync(HttpMethod.Post, $"/approvals/{id}/revoke", """{"reason":"no longer needed"}""", _aliceReleasing);
        Assert.Equal(HttpStatusCode.OK, own);
        Assert.Equal("alice", ownView.GetProperty("revokedBy").GetString());
        Assert.NotEqual(id, PendingId(await CallAsync(EchoCall(31))));
    }

    [Fact]
    public async Task The_revocation_is_recorded_before_it_applies_verified_and_announced_by_the_webhook()
    {
        string id = await OpenGrantAsync(executions: 2);
        var (revoked, view) = await AdminAsync(HttpMethod.Post, $"/approvals/{id}/revoke", """{"reason":"card 4111111111111111 reported stolen"}""", _dave);
        Assert.Equal(HttpStatusCode.OK, revoked);
        Assert.Equal("card 411111******1111 reported stolen", view.GetProperty("reason").GetString());
        string digest = view.GetProperty("digest").GetString()!;

        // The webhook announces it (bounded wait: requested, approved, two executions, revoked).
        List<string> deliveries = await _webhook.WaitForLinesAsync(5, TimeSpan.FromSeconds(20));
        string announced = Assert.Single(deliveries, d => d.Contains("\"event\":\"approval.revoked\"", StringComparison.Ordinal));
        using (JsonDocument payload = JsonDocument.Parse(announced))
        {
            JsonElement approval = payload.RootElement.GetProperty("approval");
            Assert.Equal(id, approval.GetProperty("id").GetString());
            Assert.Equal("revoked", approval.GetProperty("state").GetString());
            Assert.Equal("dave", approval.GetProperty("revokedBy").GetString());
        }
        ReceivedPost post = _webhook.Accepted.Single(p => p.Body.Contains("approval.revoked", StringComparison.Ordinal));
        Assert.Equal("approval.revoked", post.Header("X-FastMcp-Event"));

        _stopped = true;
        await _gateway.DisposeAsync();
        string audit = Path.Combine(_dir, "audit");
        var output = new StringWriter();
        Assert.Equal(0, await ReplayCommand.RunAsync([audit, "--format", "jsonl"], output, new StringWriter()));
        List<JsonElement> records = AuditRecordFields.Parse(output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
        JsonElement record = Assert.Single(records, r => AuditRecordFields.Field(r, "type") == "ApprovalRevoked");
        Assert.Equal("dave", record.GetProperty("user").GetProperty("subject").GetString());
        Assert.False(record.GetProperty("success").GetBoolean());
        Assert.Equal("dave", AuditRecordFields.Field(record, "approver"));
        Assert.Equal("echo-grant", AuditRecordFields.Field(record, "rule"));
        Assert.Equal($"approval {id} for alice: revoked by dave after 2 execution(s), identical call no longer allowed (grant was open until {view.GetProperty("grantUntil").GetString()}); "
            + $"digest {digest}; reason: card 411111******1111 reported stolen", AuditRecordFields.Field(record, "detail"));
        Assert.DoesNotContain("4111111111111111", output.ToString(), StringComparison.Ordinal);
        // Recorded after both executions it counts.
        int revokedAt = records.IndexOf(record);
        Assert.Equal(2, records.Take(revokedAt).Count(r => AuditRecordFields.Field(r, "type") == "McpExchange"
            && (AuditRecordFields.Field(r, "detail") ?? "").StartsWith($"request (approval {id}", StringComparison.Ordinal)));

        // The chain holding the new record type verifies.
        var verified = new StringWriter();
        var errors = new StringWriter();
        Assert.True(await VerifyCommand.RunAsync([audit, "--key", Path.Combine(audit, "audit-signing-key.pub.pem")], verified, errors) == 0, verified + errors.ToString());
    }

    [Fact]
    public async Task The_cli_revokes_a_grant_on_a_running_gateway_and_says_why_when_refused()
    {
        string id = await OpenGrantAsync(executions: 1);
        string tokenFile = Path.Combine(_dir, "dave.token");
        await File.WriteAllTextAsync(tokenFile, _dave);
        string admin = $"http://127.0.0.1:{_gateway.AdminEndpoint.Port}";

        await Assert.ThrowsAsync<Cli.UsageException>(() => Cli.ApprovalsCommand.RunAsync(["revoke", id, "--admin", admin, "--token-file", tokenFile], TextWriter.Null, TextWriter.Null));

        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int exit = await Cli.ApprovalsCommand.RunAsync(["revoke", id, "--reason", "wrong ticket", "--admin", admin, "--token-file", tokenFile], stdout, stderr);
        Assert.True(exit == 0, stderr.ToString());
        string printed = stdout.ToString();
        Assert.Contains("state      revoked", printed, StringComparison.Ordinal);
        Assert.Matches(@"revoked    by dave at \S+: wrong ticket; 1 execution\(s\) before", printed);
        Assert.NotEqual(id, PendingId(await CallAsync(EchoCall(40))));

        stderr = new StringWriter();
        Assert.Equal(1, await Cli.ApprovalsCommand.RunAsync(["revoke", id, "--reason", "again", "--admin", admin, "--token-file", tokenFile], TextWriter.Null, stderr));
        Assert.Contains("409: approval is revoked: only an open grant can be revoked", stderr.ToString(), StringComparison.Ordinal);

        // The metric counts the one revocation.
        string metrics = await AdminGet.TextAsync(_gateway.AdminEndpoint, "/metrics");
        Assert.Contains("\nfastmcp_approvals_revoked_total 1\n", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_revocation_the_audit_log_cannot_record_is_refused_and_not_applied()
    {
        string id = await OpenGrantAsync(executions: 0);
        // A closed log takes nothing more, as one that cannot be written.
        await _gateway.Stages.Audit!.Log.DisposeAsync();

        var (status, body) = await AdminAsync(HttpMethod.Post, $"/approvals/{id}/revoke", """{"reason":"compromised"}""", _bob);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        // The refusal's own answer would show the approval; unrecorded, it is not shown (the admin trail fails closed).
        Assert.Equal("audit log unavailable: this admin request could not be recorded, so it is not answered (nothing was shown or changed)",
            body.GetProperty("error").GetString());
        Assert.False(body.TryGetProperty("approval", out _));
        Assert.Equal(Approvals.ApprovalState.Approved, _gateway.Stages.Approvals!.Get(id)!.State);
    }
}
