using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using FastMcp.Audit;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Identity;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// Two replicas behind a Service that does not route by session (docs/approvals.md, "Restarts and replicas"): two
/// in-process gateways with one identity key and one card fingerprint key, each with its own admin listener, each
/// naming both admin listeners under approvals.peers.urls.
/// </summary>
public sealed class ApprovalPeerTests : IAsyncLifetime
{
    private readonly ReplicaKeys _keys = new();
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "fastmcp-peers-" + Guid.NewGuid().ToString("N"));
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(30) };
    private ScriptedUpstream _upstream = null!;
    private GatewayUnderTest _a = null!, _b = null!;
    private int _adminA, _adminB;
    private bool _aStopped, _bStopped;
    private string _alice = "", _bob = "";

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_dir);
        _upstream = new ScriptedUpstream(UpstreamScripts.Echo);
        _adminA = UnusedPort.Pick();
        _adminB = UnusedPort.Pick();
        _a = await ReplicaAsync("a", _adminA);
        _b = await ReplicaAsync("b", _adminB);
        _alice = _keys.Token("alice", "dev");
        _bob = _keys.Token("bob", "release");
    }

    public async Task DisposeAsync()
    {
        if (!_aStopped) await _a.DisposeAsync();
        if (!_bStopped) await _b.DisposeAsync();
        await _upstream.DisposeAsync();
        _http.Dispose();
        _keys.Dispose();
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    /// <param name="peers">approvals.peers.urls; both replicas' admin listeners when null</param>
    /// <param name="panKeyFile">a card fingerprint key of its own (a replica of another deployment), instead of the shared one</param>
    private Task<GatewayUnderTest> ReplicaAsync(string name, int adminPort, List<string>? peers = null, string? panKeyFile = null) =>
        GatewayUnderTest.StartWithStagesAsync(_upstream.Url, o =>
        {
            o.Identity = new IdentityOptions { Mode = IdentityModes.Dev, Resource = "http://127.0.0.1/mcp" };
            _keys.Share(o);
            if (panKeyFile is not null) o.Masking.FingerprintKeyFile = panKeyFile;
            o.Admin.Listen = $"127.0.0.1:{adminPort}";
            o.Policy = new PolicyOptions
            {
                Rules =
                [
                    new RuleOptions { Name = "echo-grant", Action = "require_approval", Methods = ["tools/call"], Names = ["echo"], Approvers = ["release"], ApprovalMode = "grant" },
                    new RuleOptions { Name = "rest", Action = "allow" },
                ],
            };
            o.Audit = new AuditOptions { Directory = Path.Combine(_dir, name), ChainId = name };
            // Both admin listeners, this replica's own included (it must skip itself), as the chart renders them.
            o.Approvals.Peers.Urls = peers ?? [$"http://127.0.0.1:{_adminA}", $"http://127.0.0.1:{_adminB}"];
        });

    private static string EchoCall(int id, string message = "hi") =>
        "{\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"method\":\"tools/call\",\"params\":{\"name\":\"echo\",\"arguments\":{\"message\":\"" + message + "\"}}}";

    private Task<JsonElement> CallAsync(GatewayUnderTest gw, string json, string? token = null) => gw.CallJsonAsync(_http, json, token ?? _alice);

    private static string PendingId(JsonElement answer)
    {
        Assert.Equal(-32002, answer.GetProperty("error").GetProperty("code").GetInt32());
        return answer.GetProperty("error").GetProperty("data").GetProperty("approvalId").GetString()!;
    }

    private async Task<(HttpStatusCode Status, JsonElement Body)> AdminAsync(int port, HttpMethod method, string path, string? body, string token)
    {
        using var request = new HttpRequestMessage(method, new Uri($"http://127.0.0.1:{port}{path}"));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        if (body is not null) request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        using HttpResponseMessage response = await _http.SendAsync(request);
        using JsonDocument document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return (response.StatusCode, document.RootElement.Clone());
    }

    private static async Task<long> PeerFailuresAsync(GatewayUnderTest gw)
    {
        string metrics = await AdminGet.TextAsync(gw.AdminEndpoint, "/metrics");
        foreach (string line in metrics.Split('\n'))
            if (line.StartsWith("fastmcp_approval_peer_failures_total ", StringComparison.Ordinal)) return long.Parse(line[(line.LastIndexOf(' ') + 1)..]);
        throw new Xunit.Sdk.XunitException("no fastmcp_approval_peer_failures_total in /metrics");
    }

    /// <summary>Stops replica B (closing its audit log) and returns its audit timeline as JSON lines.</summary>
    private async Task<string[]> StopBAndReadAuditAsync()
    {
        _bStopped = true;
        await _b.DisposeAsync();
        var output = new StringWriter();
        Assert.Equal(0, await ReplayCommand.RunAsync([Path.Combine(_dir, "b"), "--format", "jsonl"], output, new StringWriter()));
        return output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    [Fact]
    public async Task A_grant_approved_on_one_replica_admits_the_identical_call_on_the_other()
    {
        string id = PendingId(await CallAsync(_a, EchoCall(1)));
        var (approved, _) = await AdminAsync(_adminA, HttpMethod.Post, $"/approvals/{id}/approve", "{}", _bob);
        Assert.Equal(HttpStatusCode.OK, approved);

        JsonElement onB = await CallAsync(_b, EchoCall(2));
        Assert.False(onB.TryGetProperty("error", out _), onB.ToString());
        Assert.Equal(2, onB.GetProperty("id").GetInt32());
        Assert.Single(_upstream.Requests);

        // The holder counts the execution (told after the answer, best effort: waited for here, bounded).
        int executions = 0;
        for (int i = 0; i < 100 && executions == 0; i++)
        {
            var (_, view) = await AdminAsync(_adminA, HttpMethod.Get, $"/approvals/{id}", null, _bob);
            executions = view.GetProperty("executions").GetInt32();
            if (executions == 0) await Task.Delay(50);
        }
        Assert.Equal(1, executions);
        // Each replica found itself in the list and skipped it: no failure.
        Assert.Equal(0, await PeerFailuresAsync(_a));
        Assert.Equal(0, await PeerFailuresAsync(_b));

        // B records the call with the approvers and names the approval and the peer that holds it.
        string[] audit = await StopBAndReadAuditAsync();
        string request = Assert.Single(audit, l => l.Contains("\"detail\":\"request (approval " + id));
        Assert.Contains($"held by peer http://127.0.0.1:{_adminA}", request);
        Assert.Contains("\"approver\":\"bob\"", request);
        Assert.DoesNotContain(audit, l => l.Contains("ApprovalRequested"));
    }

    [Fact]
    public async Task A_grant_revoked_through_the_replica_that_does_not_hold_it_stops_admitting_on_both()
    {
        string id = PendingId(await CallAsync(_a, EchoCall(1)));
        Assert.Equal(HttpStatusCode.OK, (await AdminAsync(_adminA, HttpMethod.Post, $"/approvals/{id}/approve", "{}", _bob)).Status);
        // B admits it through A's grant: each call asks A, B keeps nothing.
        Assert.Equal(2, (await CallAsync(_b, EchoCall(2))).GetProperty("id").GetInt32());
        // B tells A of the execution after the answer (best effort): waited for, bounded, so the record's count is known.
        for (int i = 0; i < 100 && (await AdminAsync(_adminA, HttpMethod.Get, $"/approvals/{id}", null, _bob)).Body.GetProperty("executions").GetInt32() == 0; i++)
            await Task.Delay(50);

        // The holder applies its own checks to the approver B relays: one outside the rule's groups is refused there.
        var (outsider, outsiderBody) = await AdminAsync(_adminB, HttpMethod.Post, $"/approvals/{id}/revoke", """{"reason":"x"}""", _keys.Token("carol", "approvers"));
        Assert.Equal(HttpStatusCode.Forbidden, outsider);
        Assert.False(outsiderBody.TryGetProperty("approval", out _));

        var (revoked, view) = await AdminAsync(_adminB, HttpMethod.Post, $"/approvals/{id}/revoke", """{"reason":"agent compromised"}""", _keys.Token("dave", "release"));
        Assert.Equal(HttpStatusCode.OK, revoked);
        Assert.Equal("revoked", view.GetProperty("state").GetString());
        Assert.Equal("dave", view.GetProperty("revokedBy").GetString());
        var (again, _) = await AdminAsync(_adminB, HttpMethod.Post, $"/approvals/{id}/revoke", """{"reason":"again"}""", _bob);
        Assert.Equal(HttpStatusCode.Conflict, again);

        // From the answer on, neither replica admits the identical call: it needs a new approval (one, wherever asked).
        string next = PendingId(await CallAsync(_b, EchoCall(3)));
        Assert.NotEqual(id, next);
        Assert.Equal(next, PendingId(await CallAsync(_a, EchoCall(4))));
        Assert.Single(_upstream.Requests);

        // The revocation is in the holder's chain, not in B's.
        string[] audit = await StopBAndReadAuditAsync();
        Assert.DoesNotContain(audit, l => l.Contains("ApprovalRevoked"));
        _aStopped = true;
        await _a.DisposeAsync();
        var output = new StringWriter();
        Assert.Equal(0, await ReplayCommand.RunAsync([Path.Combine(_dir, "a"), "--format", "jsonl"], output, new StringWriter()));
        Assert.Contains($"\"detail\":\"approval {id} for alice: revoked by dave after 1 execution(s)", output.ToString());
    }

    [Fact]
    public async Task A_call_pending_on_one_replica_is_answered_on_the_other_with_the_same_approval()
    {
        string id = PendingId(await CallAsync(_a, EchoCall(1)));
        Assert.Equal(id, PendingId(await CallAsync(_b, EchoCall(2))));
        Assert.Equal(id, PendingId(await CallAsync(_a, EchoCall(3))));

        // One approval in all: B opened none.
        var (listed, list) = await AdminAsync(_adminB, HttpMethod.Get, "/approvals", null, _bob);
        Assert.Equal(HttpStatusCode.OK, listed);
        Assert.Equal(id, Assert.Single(list.GetProperty("approvals").EnumerateArray()).GetProperty("id").GetString());
        Assert.Empty(_upstream.Requests);
    }

    [Fact]
    public async Task A_replica_with_another_card_fingerprint_key_is_never_believed()
    {
        string otherKey = Path.Combine(_dir, "other.key");
        File.WriteAllText(otherKey, "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100");
        int adminC = UnusedPort.Pick();
        await using GatewayUnderTest c = await ReplicaAsync("c", adminC, [$"http://127.0.0.1:{_adminA}"], otherKey);

        string id = PendingId(await CallAsync(_a, EchoCall(1)));
        var (approved, _) = await AdminAsync(_adminA, HttpMethod.Post, $"/approvals/{id}/approve", "{}", _bob);
        Assert.Equal(HttpStatusCode.OK, approved);

        // A refuses C's unsigned-for-it request, and C would not believe an answer MACed under another key: a new approval.
        string onC = PendingId(await CallAsync(c, EchoCall(2)));
        Assert.NotEqual(id, onC);
        Assert.Empty(_upstream.Requests);
        Assert.Equal(1, await PeerFailuresAsync(c));
        // Nor does the approvals API on C reach A's approval.
        var (shown, _) = await AdminAsync(adminC, HttpMethod.Get, $"/approvals/{id}", null, _bob);
        Assert.Equal(HttpStatusCode.NotFound, shown);
    }

    [Fact]
    public async Task A_peer_that_is_down_holds_nothing_the_replica_opens_its_own_approval()
    {
        int down = UnusedPort.Pick();
        int adminD = UnusedPort.Pick();
        await using GatewayUnderTest d = await ReplicaAsync("d", adminD, [$"http://127.0.0.1:{adminD}", $"http://127.0.0.1:{down}"]);

        string id = PendingId(await CallAsync(d, EchoCall(1)));
        Assert.Equal(id, PendingId(await CallAsync(d, EchoCall(2))));
        Assert.Equal(1, await PeerFailuresAsync(d));

        // The list shows the local approval and names the peer that could not be asked.
        var (listed, list) = await AdminAsync(adminD, HttpMethod.Get, "/approvals", null, _bob);
        Assert.Equal(HttpStatusCode.OK, listed);
        Assert.Equal(id, Assert.Single(list.GetProperty("approvals").EnumerateArray()).GetProperty("id").GetString());
        Assert.Equal($"http://127.0.0.1:{down}", Assert.Single(list.GetProperty("unreachable").EnumerateArray()).GetString());
        Assert.Empty(_upstream.Requests);
    }

    [Fact]
    public async Task The_approvals_api_of_either_replica_shows_and_decides_an_approval_the_other_holds()
    {
        string onA = PendingId(await CallAsync(_a, EchoCall(1, "a")));
        string onB = PendingId(await CallAsync(_b, EchoCall(2, "b")));

        var (listed, list) = await AdminAsync(_adminB, HttpMethod.Get, "/approvals", null, _bob);
        Assert.Equal(HttpStatusCode.OK, listed);
        string[] ids = [.. list.GetProperty("approvals").EnumerateArray().Select(a => a.GetProperty("id").GetString()!)];
        Assert.Equal([onA, onB], ids);
        Assert.False(list.TryGetProperty("unreachable", out _));
        // Each approval names the replica that holds it when it is not the one asked.
        Assert.Equal($"http://127.0.0.1:{_adminA}", list.GetProperty("approvals")[0].GetProperty("heldBy").GetString());
        Assert.False(list.GetProperty("approvals")[1].TryGetProperty("heldBy", out _));

        var (shown, view) = await AdminAsync(_adminB, HttpMethod.Get, $"/approvals/{onA}", null, _bob);
        Assert.Equal(HttpStatusCode.OK, shown);
        Assert.Equal("""{"arguments":{"message":"a"},"name":"echo"}""", view.GetProperty("params").GetString());

        // The holder applies its checks to the approver B authenticated: alice may not approve her own call, whatever her groups.
        string aliceReleasing = _keys.Token("alice", "release");
        var (self, selfBody) = await AdminAsync(_adminB, HttpMethod.Post, $"/approvals/{onA}/approve", "{}", aliceReleasing);
        Assert.Equal(HttpStatusCode.Forbidden, self);
        Assert.False(selfBody.TryGetProperty("approval", out _));
        // Nor may an approver outside the rule's groups see it.
        var (outsider, _) = await AdminAsync(_adminB, HttpMethod.Get, $"/approvals/{onA}", null, _keys.Token("carol", "approvers"));
        Assert.Equal(HttpStatusCode.Forbidden, outsider);

        var (approved, approvedView) = await AdminAsync(_adminB, HttpMethod.Post, $"/approvals/{onA}/approve", """{"comment":"via b"}""", _bob);
        Assert.Equal(HttpStatusCode.OK, approved);
        Assert.Equal("approved", approvedView.GetProperty("state").GetString());
        var (again, _) = await AdminAsync(_adminB, HttpMethod.Post, $"/approvals/{onA}/approve", "{}", _bob);
        Assert.Equal(HttpStatusCode.Conflict, again);

        // The vote took effect on A, the holder: the identical call is admitted there.
        JsonElement admitted = await CallAsync(_a, EchoCall(3, "a"));
        Assert.Equal(3, admitted.GetProperty("id").GetInt32());
        Assert.False(admitted.TryGetProperty("error", out _));

        var (denied, deniedView) = await AdminAsync(_adminA, HttpMethod.Post, $"/approvals/{onB}/deny", """{"reason":"not today"}""", _bob);
        Assert.Equal(HttpStatusCode.OK, denied);
        Assert.Equal("denied", deniedView.GetProperty("state").GetString());
        var (unknown, _) = await AdminAsync(_adminB, HttpMethod.Get, "/approvals/apr_unknown", null, _bob);
        Assert.Equal(HttpStatusCode.NotFound, unknown);
    }

    [Fact]
    public async Task Peers_without_a_configured_card_fingerprint_key_refuse_to_start()
    {
        var e = await Assert.ThrowsAsync<Configuration.ConfigurationException>(() => GatewayUnderTest.StartWithStagesAsync(_upstream.Url, o =>
        {
            o.Identity = new IdentityOptions { Mode = IdentityModes.Dev, Resource = "http://127.0.0.1/mcp", DevKeyDirectory = _keys.DevKeyDirectory };
            o.Masking.FingerprintKeyEnv = "FASTMCP_TEST_UNSET_" + Guid.NewGuid().ToString("N");
            o.Audit = new AuditOptions { Directory = Path.Combine(_dir, "keyless"), ChainId = "keyless" };
            o.Approvals.Peers.Urls = [$"http://127.0.0.1:{_adminA}"];
        }));
        Assert.Equal("approvals.peers.urls", e.Field);
        Assert.Contains("card fingerprint key", e.Message);
    }

    [Fact]
    public async Task The_cli_asking_every_replica_lists_each_approval_once_on_its_holder()
    {
        string onA = PendingId(await CallAsync(_a, EchoCall(1, "a")));
        string onB = PendingId(await CallAsync(_b, EchoCall(2, "b")));
        string tokenFile = Path.Combine(_dir, "bob.token");
        File.WriteAllText(tokenFile, _bob);

        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int exit = await Cli.ApprovalsCommand.RunAsync(["list", "--admin", $"http://127.0.0.1:{_adminA}", "--admin", $"http://127.0.0.1:{_adminB}", "--token-file", tokenFile],
            stdout, stderr);
        Assert.True(exit == 0, stderr.ToString());
        string[] lines = stdout.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.StartsWith(onA, lines[0], StringComparison.Ordinal);
        Assert.EndsWith($"on http://127.0.0.1:{_adminA}", lines[0].TrimEnd(), StringComparison.Ordinal);
        Assert.StartsWith(onB, lines[1], StringComparison.Ordinal);
        Assert.EndsWith($"on http://127.0.0.1:{_adminB}", lines[1].TrimEnd(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_spoofed_peer_answering_a_grant_without_the_peer_key_admits_nothing()
    {
        // Answers every request with a grant for anything, its signature made without the key.
        await using var fake = new SpoofedPeer("""{"state":"grant","id":"apr_spoofed","expiresAtMs":0,"grantUntilMs":99999999999999,"approvers":["mallory"]}""");
        int adminD = UnusedPort.Pick();
        await using GatewayUnderTest d = await ReplicaAsync("d", adminD, [fake.Url]);
        string id = PendingId(await CallAsync(d, EchoCall(1)));
        Assert.NotEqual("apr_spoofed", id);
        Assert.Empty(_upstream.Requests);
        Assert.Equal(1, await PeerFailuresAsync(d));
    }

    [Fact]
    public async Task A_signed_peer_request_is_taken_once_a_replay_is_refused()
    {
        var signature = new Approvals.PeerSignature(Convert.FromHexString(File.ReadAllText(_keys.PanKeyFile).Trim()));
        byte[] body = Encoding.UTF8.GetBytes("""{"subject":"alice","rule":"echo-grant","digest":"sha256:00"}""");
        string nonce = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
        const string instance = "00112233445566778899aabbccddeeff";
        long timestamp = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

        async Task<HttpStatusCode> SendAsync(long at, string mac)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri($"http://127.0.0.1:{_adminA}/peer/v1/lookup")) { Content = new ByteArrayContent(body) };
            request.Headers.TryAddWithoutValidation("X-FastMcp-Peer-Instance", instance);
            request.Headers.TryAddWithoutValidation("X-FastMcp-Peer-Timestamp", at.ToString(System.Globalization.CultureInfo.InvariantCulture));
            request.Headers.TryAddWithoutValidation("X-FastMcp-Peer-Nonce", nonce);
            request.Headers.TryAddWithoutValidation("X-FastMcp-Peer-Signature", mac);
            using HttpResponseMessage response = await _http.SendAsync(request);
            return response.StatusCode;
        }

        // Too old a timestamp, even correctly signed, is refused (and does not use up the nonce).
        Assert.Equal(HttpStatusCode.Unauthorized, await SendAsync(timestamp - 120, signature.SignRequest("/peer/v1/lookup", timestamp - 120, nonce, instance, body)));
        string mac = signature.SignRequest("/peer/v1/lookup", timestamp, nonce, instance, body);
        Assert.Equal(HttpStatusCode.OK, await SendAsync(timestamp, mac));
        Assert.Equal(HttpStatusCode.Unauthorized, await SendAsync(timestamp, mac));
    }
}
