using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using FastMcp.Audit;
using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Identity;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// approvals.stateFile over real sockets and a real file: a gateway stopped and started again on the same file (a rolling
/// deployment) still serves its grant-mode approvals and grants, and a file changed by anyone without the key restores nothing.
/// </summary>
public sealed class ApprovalStateFileTests : IAsyncLifetime
{
    private readonly ReplicaKeys _keys = new();
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "fastmcp-approvalstate-" + Guid.NewGuid().ToString("N"));
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(30) };
    private ScriptedUpstream _upstream = null!;
    private GatewayUnderTest? _gateway;
    private string _alice = "", _bob = "";

    private string StateFile => Path.Combine(_dir, "state", "approvals.state");

    public Task InitializeAsync()
    {
        Directory.CreateDirectory(Path.Combine(_dir, "state"));
        _upstream = new ScriptedUpstream(UpstreamScripts.Echo);
        _alice = _keys.Token("alice", "dev");
        _bob = _keys.Token("bob", "release");
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        if (_gateway is not null) await _gateway.DisposeAsync();
        await _upstream.DisposeAsync();
        _http.Dispose();
        _keys.Dispose();
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    private static GatewayOptions Configure(GatewayOptions o, ReplicaKeys keys, string dir, string? stateFile, int timeoutSeconds, string? grantProfile = null, bool shipping = false,
        AuditDurability durability = AuditDurability.Strict)
    {
        o.Masking.Profiles["contractor"] = new MaskingProfileOptions { KeepFirst = 0, KeepLast = 0 };
        o.Identity = new IdentityOptions { Mode = IdentityModes.Dev, Resource = "http://127.0.0.1/mcp" };
        keys.Share(o);
        o.Policy = new PolicyOptions
        {
            Rules =
            [
                new RuleOptions { Name = "echo-grant", Action = "require_approval", Methods = ["tools/call"], Names = ["echo"], Approvers = ["release"], ApprovalMode = "grant",
                    ApprovalTimeoutSeconds = timeoutSeconds, MaskProfile = grantProfile },
                new RuleOptions { Name = "add-hold", Action = "require_approval", Methods = ["tools/call"], Names = ["add"], Approvers = ["release"] },
                new RuleOptions { Name = "rest", Action = "allow" },
            ],
        };
        // Periodic checkpoints an hour apart: only what the gateway asks to be covered is (a window as wide as it gets).
        o.Audit = new AuditOptions { Directory = Path.Combine(dir, "audit"), ChainId = "state", Durability = durability, CheckpointInterval = TimeSpan.FromHours(1) };
        // The shipper scans once at start and then rarely: a test moves segments into the archive itself.
        if (shipping) o.Audit.Shipping = new ShippingOptions { Target = ShippingTarget.Directory, Directory = Path.Combine(dir, "archive"), ScanInterval = TimeSpan.FromHours(1) };
        o.Approvals.StateFile = stateFile;
        return o;
    }

    /// <summary>Stops the running gateway (gracefully, as a rolling deployment does) and starts a new one on the same file.</summary>
    private async Task RestartAsync(int timeoutSeconds = 300, string? grantProfile = null, bool shipping = false, AuditDurability durability = AuditDurability.Strict,
        bool withStateFile = true)
    {
        if (_gateway is not null) await _gateway.DisposeAsync();
        _gateway = null;
        _gateway = await GatewayUnderTest.StartWithStagesAsync(_upstream.Url,
            o => Configure(o, _keys, _dir, withStateFile ? StateFile : null, timeoutSeconds, grantProfile, shipping, durability));
    }

    private async Task StopAsync()
    {
        if (_gateway is not null) await _gateway.DisposeAsync();
        _gateway = null;
    }

    private static string EchoCall(int id) =>
        "{\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"method\":\"tools/call\",\"params\":{\"name\":\"echo\",\"arguments\":{\"message\":\"deploy\"}}}";

    private Task<JsonElement> CallAsync(int id) => CallAsync(EchoCall(id));

    private Task<JsonElement> CallAsync(string json) => _gateway!.CallJsonAsync(_http, json, _alice);

    private static string PendingId(JsonElement answer)
    {
        JsonElement error = answer.GetProperty("error");
        Assert.Equal(-32002, error.GetProperty("code").GetInt32());
        Assert.Equal("pending", error.GetProperty("data").GetProperty("status").GetString());
        return error.GetProperty("data").GetProperty("approvalId").GetString()!;
    }

    private async Task<(HttpStatusCode Status, JsonElement Body)> AdminAsync(HttpMethod method, string path, string? body = null)
    {
        using var request = new HttpRequestMessage(method, new Uri($"http://127.0.0.1:{_gateway!.AdminEndpoint.Port}{path}"));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _bob);
        if (body is not null) request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        using HttpResponseMessage response = await _http.SendAsync(request);
        using JsonDocument document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return (response.StatusCode, document.RootElement.Clone());
    }

    private async Task<long> RefusedStateFilesAsync()
    {
        string metrics = await AdminGet.TextAsync(_gateway!.AdminEndpoint, "/metrics");
        foreach (string line in metrics.Split('\n'))
            if (line.StartsWith("fastmcp_approval_state_refused_total ", StringComparison.Ordinal)) return long.Parse(line.AsSpan(line.IndexOf(' ') + 1));
        throw new Xunit.Sdk.XunitException("fastmcp_approval_state_refused_total is not exposed");
    }

    /// <summary>The audit records of every run so far (the gateway stopped), as `fastmcp audit replay` prints them.</summary>
    private async Task<List<JsonElement>> AuditRecordsAsync()
    {
        var output = new StringWriter();
        int rc = await ReplayCommand.RunAsync([Path.Combine(_dir, "audit"), "--format", "jsonl"], output, new StringWriter());
        Assert.Equal(0, rc);
        return AuditRecordFields.Parse(output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public async Task A_pending_approval_survives_a_restart_and_the_new_gateway_admits_the_retry_once_approved()
    {
        await RestartAsync();
        string id = PendingId(await CallAsync(1));

        await RestartAsync();
        // The requester's retry gets the same approval, not a new one.
        Assert.Equal(id, PendingId(await CallAsync(2)));
        var (approved, view) = await AdminAsync(HttpMethod.Post, $"/approvals/{id}/approve", "{}");
        Assert.Equal(HttpStatusCode.OK, approved);
        Assert.Equal("approved", view.GetProperty("state").GetString());

        JsonElement admitted = await CallAsync(3);
        Assert.Equal(3, admitted.GetProperty("id").GetInt32());
        Assert.False(admitted.TryGetProperty("error", out _));
        Assert.Single(_upstream.Requests);
        Assert.Equal(0, await RefusedStateFilesAsync());
        await StopAsync();
        Assert.Contains(await AuditRecordsAsync(), r => AuditRecordFields.Field(r, "type") == "ApprovalRestored"
            && (AuditRecordFields.Field(r, "detail") ?? "").Contains(id, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_grant_restored_after_a_restart_admits_its_call_masked_with_the_profile_its_rule_names_now()
    {
        const string card = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"echo\",\"arguments\":{\"card\":\"4111111111111111\"}}}";
        await RestartAsync();
        string id = PendingId(await CallAsync(card));
        Assert.Equal(HttpStatusCode.OK, (await AdminAsync(HttpMethod.Post, $"/approvals/{id}/approve", "{}")).Status);
        Assert.False((await CallAsync(card)).TryGetProperty("error", out _));
        Assert.Contains("\"card\":\"411111******1111\"", _upstream.Requests.Single().Body);

        // The rule now names a profile: the grant still admits the call (approvers were shown it, and its digest binds it,
        // masked with the default either way), and the admitted call is masked with the profile the rule names now.
        await RestartAsync(grantProfile: "contractor");
        JsonElement admitted = await CallAsync(card);
        Assert.False(admitted.TryGetProperty("error", out _), admitted.GetRawText());
        Assert.Equal(2, _upstream.Requests.Count);
        Assert.Contains("\"card\":\"****************\"", _upstream.Requests.Last().Body);
        Assert.Equal(2, (await AdminAsync(HttpMethod.Get, $"/approvals/{id}")).Body.GetProperty("executions").GetInt32());
    }

    [Fact]
    public async Task An_approved_grant_survives_a_restart_with_its_execution_count()
    {
        await RestartAsync();
        string id = PendingId(await CallAsync(1));
        Assert.Equal(HttpStatusCode.OK, (await AdminAsync(HttpMethod.Post, $"/approvals/{id}/approve", "{}")).Status);
        Assert.Equal(2, (await CallAsync(2)).GetProperty("id").GetInt32());
        Assert.Equal(1, (await AdminAsync(HttpMethod.Get, $"/approvals/{id}")).Body.GetProperty("executions").GetInt32());

        await RestartAsync();
        var (shown, view) = await AdminAsync(HttpMethod.Get, $"/approvals/{id}");
        Assert.Equal(HttpStatusCode.OK, shown);
        Assert.Equal("approved", view.GetProperty("state").GetString());
        Assert.Equal(1, view.GetProperty("executions").GetInt32());
        Assert.Equal("bob", view.GetProperty("approvals")[0].GetProperty("approver").GetString());

        JsonElement admitted = await CallAsync(3);
        Assert.Equal(3, admitted.GetProperty("id").GetInt32());
        Assert.False(admitted.TryGetProperty("error", out _));
        Assert.Equal(2, _upstream.Requests.Count);
        Assert.Equal(2, (await AdminAsync(HttpMethod.Get, $"/approvals/{id}")).Body.GetProperty("executions").GetInt32());

        // The second execution is on disk too.
        await RestartAsync();
        Assert.Equal(2, (await AdminAsync(HttpMethod.Get, $"/approvals/{id}")).Body.GetProperty("executions").GetInt32());
    }

    [Fact]
    public async Task An_approval_that_expired_while_the_gateway_was_down_is_dropped_on_load()
    {
        await RestartAsync(timeoutSeconds: 5);
        JsonElement first = await CallAsync(1);
        string id = PendingId(first);
        DateTime expires = DateTime.Parse(first.GetProperty("error").GetProperty("data").GetProperty("expiresAt").GetString()!, null,
            System.Globalization.DateTimeStyles.AdjustToUniversal);
        await StopAsync();
        Assert.Contains(id, File.ReadAllText(StateFile), StringComparison.Ordinal);

        // Expiry is by the wall clock, across the restart: wait (bounded) until it has passed while no gateway runs.
        for (int i = 0; i < 200 && DateTime.UtcNow <= expires.AddMilliseconds(200); i++) await Task.Delay(50);
        Assert.True(DateTime.UtcNow > expires);

        await RestartAsync(timeoutSeconds: 5);
        Assert.Equal(HttpStatusCode.NotFound, (await AdminAsync(HttpMethod.Get, $"/approvals/{id}")).Status);
        Assert.NotEqual(id, PendingId(await CallAsync(2)));
        Assert.Equal(0, await RefusedStateFilesAsync());
        await StopAsync();
        // The chain says where it went: expired while the gateway was stopped, not restored.
        List<JsonElement> records = await AuditRecordsAsync();
        Assert.Contains(records, r => AuditRecordFields.Field(r, "type") == "ApprovalExpired"
            && (AuditRecordFields.Field(r, "detail") ?? "").Contains($"approval {id} for alice: expired without a decision after 5 s, while the gateway was stopped", StringComparison.Ordinal));
        Assert.DoesNotContain(records, r => AuditRecordFields.Field(r, "type") == "ApprovalRestored");
    }

    [Fact]
    public async Task A_denied_approval_leaves_the_file_and_the_retry_after_a_restart_opens_a_new_one()
    {
        await RestartAsync();
        string id = PendingId(await CallAsync(1));
        Assert.Equal(HttpStatusCode.OK, (await AdminAsync(HttpMethod.Post, $"/approvals/{id}/deny", """{"reason":"not today"}""")).Status);

        await RestartAsync();
        Assert.Equal(HttpStatusCode.NotFound, (await AdminAsync(HttpMethod.Get, $"/approvals/{id}")).Status);
        Assert.NotEqual(id, PendingId(await CallAsync(2)));
        Assert.Empty(_upstream.Requests);
    }

    [Fact]
    public async Task A_revoked_grant_leaves_the_file_and_a_restart_does_not_bring_it_back()
    {
        await RestartAsync();
        string id = PendingId(await CallAsync(1));
        Assert.Equal(HttpStatusCode.OK, (await AdminAsync(HttpMethod.Post, $"/approvals/{id}/approve", "{}")).Status);
        Assert.Equal(2, (await CallAsync(2)).GetProperty("id").GetInt32());
        Assert.Contains(id, File.ReadAllText(StateFile), StringComparison.Ordinal);

        Assert.Equal(HttpStatusCode.OK, (await AdminAsync(HttpMethod.Post, $"/approvals/{id}/revoke", """{"reason":"wrong environment"}""")).Status);
        // Written on the revocation itself, not only at stop.
        Assert.DoesNotContain(id, File.ReadAllText(StateFile), StringComparison.Ordinal);

        await RestartAsync();
        Assert.Equal(HttpStatusCode.NotFound, (await AdminAsync(HttpMethod.Get, $"/approvals/{id}")).Status);
        Assert.NotEqual(id, PendingId(await CallAsync(3)));
        Assert.Single(_upstream.Requests);
        await StopAsync();
        List<JsonElement> records = await AuditRecordsAsync();
        Assert.Contains(records, r => AuditRecordFields.Field(r, "type") == "ApprovalRevoked"
            && (AuditRecordFields.Field(r, "detail") ?? "").Contains($"approval {id} for alice: revoked by bob after 1 execution(s)", StringComparison.Ordinal));
        Assert.DoesNotContain(records, r => AuditRecordFields.Field(r, "type") == "ApprovalRestored");
    }

    [Fact]
    public async Task A_revocation_whose_write_fails_leaves_a_file_the_chain_has_overtaken_so_that_no_restart_brings_the_grant_back()
    {
        await RestartAsync();
        string id = PendingId(await CallAsync(1));
        Assert.Equal(HttpStatusCode.OK, (await AdminAsync(HttpMethod.Post, $"/approvals/{id}/approve", "{}")).Status);
        Assert.Contains(id, File.ReadAllText(StateFile), StringComparison.Ordinal);

        // The next write cannot make its temporary file (a directory holds the name; this fails for root too).
        string blocker = StateFile + ".tmp";
        Directory.CreateDirectory(blocker);
        var (revoked, view) = await AdminAsync(HttpMethod.Post, $"/approvals/{id}/revoke", """{"reason":"compromised agent"}""");
        // Recorded, so it applies here whatever the file says. The file still holds the grant, but the chain recorded the
        // generation of the write that failed: the file is behind it, and no start will trust it.
        Assert.Equal(HttpStatusCode.OK, revoked);
        Assert.Equal("revoked", view.GetProperty("state").GetString());
        Assert.Contains(id, File.ReadAllText(StateFile), StringComparison.Ordinal);
        string metrics = await AdminGet.TextAsync(_gateway!.AdminEndpoint, "/metrics");
        Assert.Contains("\nfastmcp_approval_state_write_failures_total 1\n", metrics, StringComparison.Ordinal);
        Assert.Contains("\nfastmcp_approvals_revoked_total 1\n", metrics, StringComparison.Ordinal);
        // The identical call is not admitted (its new approval cannot be saved either, so it is refused).
        JsonElement refused = await CallAsync(2);
        Assert.Equal(-32002, refused.GetProperty("error").GetProperty("code").GetInt32());

        // Stopped while the write still fails (a crash would do the same): the start refuses the file and restores nothing.
        await StopAsync();
        Directory.Delete(blocker);
        await RestartAsync();
        Assert.Equal(1, await RefusedStateFilesAsync());
        Assert.Equal(HttpStatusCode.NotFound, (await AdminAsync(HttpMethod.Get, $"/approvals/{id}")).Status);
        Assert.NotEqual(id, PendingId(await CallAsync(3)));
        Assert.Empty(_upstream.Requests);
    }

    /// <summary>
    /// Record first, then file: a stop (or crash) after the chain recorded a write's generation and before the file was
    /// written leaves a file older than the chain. It is refused like a rollback (the two cannot be told apart): nothing
    /// comes back, and the requester asks again.
    /// </summary>
    [Fact]
    public async Task A_write_recorded_in_the_chain_but_not_on_disk_makes_the_next_start_refuse_the_older_file()
    {
        await RestartAsync();
        string id = PendingId(await CallAsync(1));
        Assert.Contains(id, File.ReadAllText(StateFile), StringComparison.Ordinal);
        string blocker = StateFile + ".tmp";
        Directory.CreateDirectory(blocker);
        // The approval is recorded and applies; its write (record made, file not written) fails, and so does the one at stop.
        Assert.Equal(HttpStatusCode.OK, (await AdminAsync(HttpMethod.Post, $"/approvals/{id}/approve", "{}")).Status);
        await StopAsync();
        Directory.Delete(blocker);
        Assert.Contains("\"state\":\"pending\"", File.ReadAllText(StateFile), StringComparison.Ordinal);

        await RestartAsync();
        Assert.Equal(1, await RefusedStateFilesAsync());
        Assert.Equal(HttpStatusCode.NotFound, (await AdminAsync(HttpMethod.Get, $"/approvals/{id}")).Status);
        Assert.NotEqual(id, PendingId(await CallAsync(2)));
        Assert.Empty(_upstream.Requests);
        // The next start trusts the file this one wrote: the refusal is not repeated.
        await RestartAsync();
        Assert.Equal(0, await RefusedStateFilesAsync());
    }

    /// <summary>
    /// Shipping removes sealed segments from the host: the generation is read back from the store, so a grant survives the
    /// restart when every segment that recorded it is only in the store.
    /// </summary>
    [Fact]
    public async Task A_grant_survives_a_restart_after_its_segments_were_shipped_and_removed_from_the_host()
    {
        await RestartAsync(shipping: true);
        string id = PendingId(await CallAsync(1));
        Assert.Equal(HttpStatusCode.OK, (await AdminAsync(HttpMethod.Post, $"/approvals/{id}/approve", "{}")).Status);
        await StopAsync();
        string local = Path.Combine(_dir, "audit", "state"), archive = Path.Combine(_dir, "archive", "state");
        Directory.CreateDirectory(archive);
        // The shipper usually removed them already (it ships at stop, localRetention 0); any it left are shipped by hand.
        foreach (string segment in Directory.GetFiles(local, "*.seg"))
        {
            if (!File.Exists(Path.Combine(archive, Path.GetFileName(segment)))) File.Copy(segment, Path.Combine(archive, Path.GetFileName(segment)));
            File.Delete(segment);
        }
        Assert.Empty(Directory.GetFiles(local, "*.seg"));
        Assert.NotEmpty(Directory.GetFiles(archive, "*.seg"));

        await RestartAsync(shipping: true);
        Assert.Equal(0, await RefusedStateFilesAsync());
        Assert.Equal("approved", (await AdminAsync(HttpMethod.Get, $"/approvals/{id}")).Body.GetProperty("state").GetString());
        Assert.Equal(2, (await CallAsync(2)).GetProperty("id").GetInt32());
        Assert.Single(_upstream.Requests);
    }

    /// <summary>A new audit directory has no record of any generation: the file is refused, not trusted blindly.</summary>
    [Fact]
    public async Task A_state_file_with_a_new_audit_directory_is_refused_since_no_chain_vouches_for_it()
    {
        await RestartAsync();
        string id = PendingId(await CallAsync(1));
        Assert.Equal(HttpStatusCode.OK, (await AdminAsync(HttpMethod.Post, $"/approvals/{id}/approve", "{}")).Status);
        await StopAsync();
        Directory.Move(Path.Combine(_dir, "audit"), Path.Combine(_dir, "audit-old"));

        await RestartAsync();
        Assert.Equal(1, await RefusedStateFilesAsync());
        Assert.Equal(HttpStatusCode.NotFound, (await AdminAsync(HttpMethod.Get, $"/approvals/{id}")).Status);
        Assert.NotEqual(id, PendingId(await CallAsync(2)));
        Assert.Empty(_upstream.Requests);
        await StopAsync();
        Assert.Contains(await AuditRecordsAsync(), r => AuditRecordFields.Field(r, "type") == "ApprovalState" && !r.GetProperty("success").GetBoolean()
            && (AuditRecordFields.Field(r, "detail") ?? "").Contains("holds no approvals.stateFile generation", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_held_call_ends_at_stop_as_without_a_state_file_and_is_not_restored()
    {
        await RestartAsync();
        Task<JsonElement> held = CallAsync("""{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"add","arguments":{"a":1,"b":2}}}""");
        string? id = null;
        for (int i = 0; i < 200 && id is null; i++)
        {
            JsonElement list = (await AdminAsync(HttpMethod.Get, "/approvals")).Body.GetProperty("approvals");
            if (list.GetArrayLength() > 0) id = list[0].GetProperty("id").GetString();
            else await Task.Delay(25);
        }
        Assert.NotNull(id);

        await StopAsync();
        // The stop answers the held client before closing its connection (ApprovalStopAnswerTests repeats it).
        JsonElement answer = await held;
        Assert.Equal(-32002, answer.GetProperty("error").GetProperty("code").GetInt32());
        Assert.Equal("cancelled", answer.GetProperty("error").GetProperty("data").GetProperty("status").GetString());
        Assert.Equal(id, answer.GetProperty("error").GetProperty("data").GetProperty("approvalId").GetString());
        Assert.DoesNotContain(id, File.ReadAllText(StateFile), StringComparison.Ordinal);

        await RestartAsync();
        Assert.Equal(HttpStatusCode.NotFound, (await AdminAsync(HttpMethod.Get, $"/approvals/{id}")).Status);
        await StopAsync();
        List<JsonElement> records = await AuditRecordsAsync();
        Assert.Contains(records, r => AuditRecordFields.Field(r, "type") == "ApprovalExpired"
            && (AuditRecordFields.Field(r, "detail") ?? "").Contains($"approval {id} for alice: cancelled", StringComparison.Ordinal));
        Assert.DoesNotContain(records, r => AuditRecordFields.Field(r, "type") == "ApprovalRestored");
    }

    public static TheoryData<string> ChangesAfterTheCopy => new() { "revoke", "deny", "execution", "expire" };

    /// <summary>
    /// An older copy of the file, written by the gateway itself (so it verifies), put back before a restart: the chain
    /// recorded a newer generation, so the copy is refused like a file that does not verify, and nothing in it admits a call.
    /// </summary>
    [Theory]
    [MemberData(nameof(ChangesAfterTheCopy))]
    public async Task An_older_copy_of_the_file_put_back_before_a_restart_is_refused_and_recorded(string change)
    {
        await RestartAsync(timeoutSeconds: change == "expire" ? 2 : 300);
        string id = PendingId(await CallAsync(1));
        if (change is "revoke" or "execution") Assert.Equal(HttpStatusCode.OK, (await AdminAsync(HttpMethod.Post, $"/approvals/{id}/approve", "{}")).Status);
        if (change == "revoke") Assert.Equal(2, (await CallAsync(2)).GetProperty("id").GetInt32());
        byte[] older = File.ReadAllBytes(StateFile);
        int executions = _upstream.Requests.Count;

        switch (change)
        {
            case "revoke":
                Assert.Equal(HttpStatusCode.OK, (await AdminAsync(HttpMethod.Post, $"/approvals/{id}/revoke", """{"reason":"wrong environment"}""")).Status);
                break;
            case "deny":
                Assert.Equal(HttpStatusCode.OK, (await AdminAsync(HttpMethod.Post, $"/approvals/{id}/deny", """{"reason":"not today"}""")).Status);
                break;
            case "execution":
                Assert.Equal(3, (await CallAsync(3)).GetProperty("id").GetInt32());
                executions++;
                break;
            default:
                // The sweeper expires it (bounded wait) while the gateway runs.
                string state = "pending";
                for (int i = 0; i < 200 && state == "pending"; i++)
                {
                    await Task.Delay(50);
                    state = (await AdminAsync(HttpMethod.Get, $"/approvals/{id}")).Body.GetProperty("state").GetString()!;
                }
                Assert.Equal("expired", state);
                break;
        }
        await StopAsync();
        File.WriteAllBytes(StateFile, older);

        await RestartAsync();
        // The identical call is not admitted: it opens a new approval.
        JsonElement retry = await CallAsync(4);
        Assert.True(retry.TryGetProperty("error", out _), $"admitted by an approval from the older file: {retry.GetRawText()}");
        Assert.Equal(executions, _upstream.Requests.Count);
        Assert.NotEqual(id, PendingId(retry));
        Assert.Equal(HttpStatusCode.NotFound, (await AdminAsync(HttpMethod.Get, $"/approvals/{id}")).Status);
        Assert.Equal(1, await RefusedStateFilesAsync());
        Assert.Single(Directory.GetFiles(Path.GetDirectoryName(StateFile)!, "approvals.state.refused-*"));
        await StopAsync();
        List<JsonElement> records = await AuditRecordsAsync();
        Assert.DoesNotContain(records, r => AuditRecordFields.Field(r, "type") == "ApprovalRestored");
        Assert.Contains(records, r => AuditRecordFields.Field(r, "type") == "ApprovalState" && !r.GetProperty("success").GetBoolean()
            && (AuditRecordFields.Field(r, "detail") ?? "").Contains("older than generation", StringComparison.Ordinal));
    }

    /// <summary>
    /// The attack the anchor's torn-tail window allowed: the gateway dies right after an approver was told "revoked"; before
    /// the restart someone cuts the open segment's tail from the revocation on (so that it looks like a crash's torn write)
    /// and puts back the copy of the file taken before the revocation. The revocation and its generation were covered by a
    /// signed checkpoint before the answer, so the cut contradicts it: the start finds tampering and refuses the file.
    /// </summary>
    [Theory]
    [InlineData(AuditDurability.Strict)]
    [InlineData(AuditDurability.Batched)]
    public async Task Records_cut_from_the_open_segment_after_a_revocation_and_an_older_file_put_back_restore_nothing(AuditDurability durability)
    {
        await RestartAsync(durability: durability);
        string id = PendingId(await CallAsync(1));
        Assert.Equal(HttpStatusCode.OK, (await AdminAsync(HttpMethod.Post, $"/approvals/{id}/approve", "{}")).Status);
        Assert.Equal(2, (await CallAsync(2)).GetProperty("id").GetInt32());
        byte[] older = File.ReadAllBytes(StateFile);
        Assert.Equal(HttpStatusCode.OK, (await AdminAsync(HttpMethod.Post, $"/approvals/{id}/revoke", """{"reason":"compromised agent"}""")).Status);

        // kill -9 the moment the approver got the answer: the audit folder as it is on disk now, nothing written after it.
        string chain = Path.Combine(_dir, "audit", "state"), image = Path.Combine(_dir, "chain-at-crash");
        CopyCrashImage(chain, image);
        await StopAsync();
        Directory.Delete(chain, recursive: true);
        Directory.Move(image, chain);
        string open = Assert.Single(Directory.GetFiles(chain, "*.open"));
        CutFromRecordOfType(open, AuditEventType.ApprovalRevoked);
        File.WriteAllBytes(StateFile, older);

        await RestartAsync(durability: durability);
        JsonElement retry = await CallAsync(3);
        Assert.True(retry.TryGetProperty("error", out _), $"the revoked grant admitted the call after the cut: {retry.GetRawText()}");
        Assert.NotEqual(id, PendingId(retry));
        Assert.Single(_upstream.Requests);
        Assert.Equal(1, await RefusedStateFilesAsync());
        Assert.NotNull(_gateway!.Stages.Audit!.Log.StartReport.Tampering);
    }

    /// <summary>
    /// Upgrading: a file written before generations (none in its body) is restored once, at the first start on a chain that
    /// never recorded a generation; that start records one, so the same copy put back later is refused.
    /// </summary>
    [Fact]
    public async Task A_state_file_from_before_generations_is_restored_once_on_a_chain_without_any_and_refused_afterwards()
    {
        await RestartAsync();
        string id = PendingId(await CallAsync(1));
        Assert.Equal(HttpStatusCode.OK, (await AdminAsync(HttpMethod.Post, $"/approvals/{id}/approve", "{}")).Status);
        await StopAsync();
        byte[] legacy = WithoutGeneration(File.ReadAllBytes(StateFile));
        // The chain the version before left: sealed segments, none holding an ApprovalState record.
        Directory.Delete(Path.Combine(_dir, "audit"), recursive: true);
        await RestartAsync(withStateFile: false);
        await StopAsync();
        File.WriteAllBytes(StateFile, legacy);

        await RestartAsync();
        Assert.Equal(0, await RefusedStateFilesAsync());
        Assert.Equal("approved", (await AdminAsync(HttpMethod.Get, $"/approvals/{id}")).Body.GetProperty("state").GetString());
        Assert.Equal(2, (await CallAsync(2)).GetProperty("id").GetInt32());
        Assert.Single(_upstream.Requests);
        await StopAsync();

        // The same copy put back after the upgrade's start: the chain holds a generation now.
        File.WriteAllBytes(StateFile, legacy);
        await RestartAsync();
        Assert.Equal(1, await RefusedStateFilesAsync());
        Assert.Equal(HttpStatusCode.NotFound, (await AdminAsync(HttpMethod.Get, $"/approvals/{id}")).Status);
        Assert.NotEqual(id, PendingId(await CallAsync(3)));
        Assert.Single(_upstream.Requests);
        await StopAsync();
        List<JsonElement> records = await AuditRecordsAsync();
        Assert.Contains(records, r => AuditRecordFields.Field(r, "type") == "ApprovalState" && r.GetProperty("success").GetBoolean()
            && (AuditRecordFields.Field(r, "detail") ?? "").Contains("written before generations accepted at start, once", StringComparison.Ordinal));
        Assert.Contains(records, r => AuditRecordFields.Field(r, "type") == "ApprovalState" && !r.GetProperty("success").GetBoolean()
            && (AuditRecordFields.Field(r, "detail") ?? "").Contains("it was written before generations (it has none), and the audit chain recorded generation", StringComparison.Ordinal));
    }

    /// <summary>
    /// A legacy file on a chain that holds generations but whose newest segments were removed from the audit folder (no
    /// shipping store): the chain cannot show that it never recorded one, so the file is refused, not taken for an upgrade.
    /// </summary>
    [Fact]
    public async Task A_state_file_from_before_generations_is_refused_when_the_chains_newest_segments_are_gone()
    {
        await RestartAsync();
        string id = PendingId(await CallAsync(1));
        Assert.Equal(HttpStatusCode.OK, (await AdminAsync(HttpMethod.Post, $"/approvals/{id}/approve", "{}")).Status);
        await StopAsync();
        byte[] legacy = WithoutGeneration(File.ReadAllBytes(StateFile));
        await RestartAsync();
        await StopAsync();
        // Every segment that recorded a generation removed (last-seal lets the chain continue, as after shipping).
        string[] sealedSegments = Directory.GetFiles(Path.Combine(_dir, "audit", "state"), "*.seg");
        Assert.True(sealedSegments.Length >= 2);
        foreach (string segment in sealedSegments) File.Delete(segment);
        File.WriteAllBytes(StateFile, legacy);

        await RestartAsync();
        Assert.Equal(1, await RefusedStateFilesAsync());
        Assert.Equal(HttpStatusCode.NotFound, (await AdminAsync(HttpMethod.Get, $"/approvals/{id}")).Status);
        Assert.NotEqual(id, PendingId(await CallAsync(2)));
        Assert.Empty(_upstream.Requests);
    }

    /// <summary>The same file as the version before generations wrote it: the body without generation and chain, MACed again under the same key.</summary>
    private byte[] WithoutGeneration(byte[] file)
    {
        string text = Encoding.UTF8.GetString(file);
        int body = text.IndexOf('\n', text.IndexOf('\n') + 1) + 1;
        string magic = text[..text.IndexOf('\n')] + "\n";
        string old = System.Text.RegularExpressions.Regex.Replace(text[body..], "\"generation\":[0-9]+,\"chain\":\"[^\"]*\",", "");
        Assert.DoesNotContain("generation", old, StringComparison.Ordinal);
        byte[] key = System.Security.Cryptography.HMACSHA256.HashData(
            FastMcp.Gateway.Hosting.PanKeyLoader.Load(new MaskingOptions { FingerprintKeyFile = _keys.PanKeyFile }, out _), "fastmcp approval state v1"u8);
        byte[] mac = System.Security.Cryptography.HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(magic + old));
        return Encoding.UTF8.GetBytes(magic + "mac:" + Convert.ToHexStringLower(mac) + "\n" + old);
    }

    /// <summary>The chain folder as a crash leaves it: the signed checkpoint object first, then the segments (never ahead of them).</summary>
    private static void CopyCrashImage(string chain, string image)
    {
        Directory.CreateDirectory(image);
        string[] order = [FastMcp.Audit.Format.SegmentNames.CheckpointName, FastMcp.Audit.Format.SegmentNames.LastSealName];
        foreach (string name in order)
            if (File.Exists(Path.Combine(chain, name))) File.Copy(Path.Combine(chain, name), Path.Combine(image, name));
        foreach (string f in Directory.GetFiles(chain))
        {
            string name = Path.GetFileName(f);
            if (Array.IndexOf(order, name) >= 0 || name.EndsWith(".tmp", StringComparison.Ordinal) || name == FastMcp.Audit.Storage.ChainWriterLock.FileName) continue;
            File.Copy(f, Path.Combine(image, name));
        }
    }

    /// <summary>Truncates an open segment at the start of the first frame holding a record of <paramref name="type"/> (left whole when none reached the disk).</summary>
    private static void CutFromRecordOfType(string openSegment, AuditEventType type)
    {
        byte[] data = File.ReadAllBytes(openSegment);
        using var reader = new FastMcp.Audit.Reading.FrameReader();
        reader.Reset(data, zeroTailIsEnd: true);
        while (true)
        {
            int offset = reader.Position;
            if (reader.Next(out FastMcp.Audit.Reading.Frame frame, out _) != FastMcp.Audit.Reading.FrameReadStatus.Ok) return;
            if (frame.Header.Kind != FastMcp.Audit.Format.FrameKind.Records) continue;
            var records = new FastMcp.Audit.Reading.RecordIterator(frame.Payload.Span);
            while (records.TryNext(out ReadOnlySpan<byte> body, out _, out _))
            {
                if (FastMcp.Audit.Format.RecordLayout.ReadType(body) != type) continue;
                using (var file = new FileStream(openSegment, FileMode.Open, FileAccess.Write)) file.SetLength(offset);
                return;
            }
        }
    }

    public static TheoryData<string> Tampering => new() { "flip a byte", "change the approver", "extend the grant" };

    [Theory]
    [MemberData(nameof(Tampering))]
    public async Task A_state_file_changed_without_the_key_restores_nothing_and_is_counted(string tampering)
    {
        await RestartAsync();
        string id = PendingId(await CallAsync(1));
        Assert.Equal(HttpStatusCode.OK, (await AdminAsync(HttpMethod.Post, $"/approvals/{id}/approve", "{}")).Status);
        await StopAsync();

        byte[] bytes = File.ReadAllBytes(StateFile);
        string text = Encoding.UTF8.GetString(bytes);
        switch (tampering)
        {
            case "flip a byte":
                bytes[bytes.Length / 2] ^= 0x01;
                File.WriteAllBytes(StateFile, bytes);
                break;
            case "change the approver":
                Assert.Contains("\"bob\"", text, StringComparison.Ordinal);
                File.WriteAllText(StateFile, text.Replace("\"bob\"", "\"eve\"", StringComparison.Ordinal));
                break;
            default:
                int at = text.IndexOf("\"grantUntilMs\":", StringComparison.Ordinal);
                Assert.True(at > 0);
                // One more leading digit: a window thousands of years long.
                File.WriteAllText(StateFile, text.Insert(at + "\"grantUntilMs\":".Length, "9"));
                break;
        }

        await RestartAsync();
        Assert.Equal(1, await RefusedStateFilesAsync());
        Assert.Equal(HttpStatusCode.NotFound, (await AdminAsync(HttpMethod.Get, $"/approvals/{id}")).Status);
        // The retry is not admitted: it opens a new approval.
        Assert.NotEqual(id, PendingId(await CallAsync(2)));
        Assert.Empty(_upstream.Requests);
        // The refused file is kept beside it for whoever investigates.
        Assert.Single(Directory.GetFiles(Path.GetDirectoryName(StateFile)!, "approvals.state.refused-*"));
    }

    [Fact]
    public async Task A_state_file_without_a_configured_fingerprint_key_is_a_configuration_error_naming_the_field()
    {
        var e = await Assert.ThrowsAsync<ConfigurationException>(() => GatewayStagesWithoutKeyAsync());
        Assert.Equal("approvals.stateFile", e.Field);
        Assert.False(File.Exists(StateFile));
    }

    private Task<GatewayUnderTest> GatewayStagesWithoutKeyAsync() =>
        GatewayUnderTest.StartWithStagesAsync(_upstream.Url, o =>
        {
            Configure(o, _keys, _dir, StateFile, 300);
            o.Masking.FingerprintKeyFile = null;
        });

    [Fact]
    public async Task A_state_file_where_nothing_can_be_written_is_a_start_error_naming_the_field()
    {
        // Not a read-only directory: the tests may run as root, who writes there anyway. A path through a regular file fails for everyone.
        string blocker = Path.Combine(_dir, "not-a-directory");
        File.WriteAllText(blocker, "");
        var e = await Assert.ThrowsAsync<ConfigurationException>(() =>
            GatewayUnderTest.StartWithStagesAsync(_upstream.Url, o => Configure(o, _keys, _dir, Path.Combine(blocker, "approvals.state"), 300)));
        Assert.Equal("approvals.stateFile", e.Field);
        Assert.Contains("cannot write", e.Problem, StringComparison.Ordinal);
    }
}
