using System.Net;
using System.Text;
using System.Text.Json;
using FastMcp.Gateway.Approvals;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Identity;
using FastMcp.Mcp;
using FastMcp.Policy;
using static FastMcp.Gateway.Tests.Support.AdminRequests;
using static FastMcp.Gateway.Tests.Support.AuditRecordFields;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// A held call is forwarded only for a caller who is still authenticated when it is approved: the real gateway (dev
/// identity, plus a JWKS-file issuer where a reload must take one away) in front of an echoing upstream, a hold-mode rule,
/// an approver's vote over the admin API. The held token expiring, or a reload of identity.* that no longer accepts it,
/// refuses the approved call (-32006, the approval left approved, a Denied record, a metric); a reload that still accepts
/// it forwards it. Grant mode admits later calls on their own token, which is what is checked.
/// </summary>
public sealed class HeldCallTokenTests
{
    private static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(3);
    private const string Resource = "http://127.0.0.1/mcp";

    private static List<RuleOptions> Rules(string mode = "hold") =>
    [
        new RuleOptions { Name = "echo-held", Action = "require_approval", Methods = ["tools/call"], Names = ["echo"], Approvers = ["release"], ApprovalMode = mode },
        new RuleOptions { Name = "rest", Action = "allow" },
    ];

    /// <summary>The gateway with clockSkewSeconds 0 (expiry is exp itself), and <paramref name="issuer"/> trusted besides the dev key when given.</summary>
    private static Task<PolicyGateway> StartAsync(FileIssuer? issuer = null, string mode = "hold") =>
        StartAsync(issuer is null ? null : new TrustedIssuerOptions { Issuer = issuer.Issuer, JwksFile = issuer.JwksFile }, mode);

    private static Task<PolicyGateway> StartAsync(TrustedIssuerOptions? issuer, string mode = "hold") =>
        PolicyGateway.StartAsync(UpstreamScripts.Echo, Rules(mode), o =>
        {
            o.Identity!.ClockSkewSeconds = 0;
            if (issuer is not null) o.Identity.Issuers = [issuer];
            o.Approvals.KeepAliveSeconds = 1;
        });

    private const string EchoCall = """{"jsonrpc":"2.0","id":"held-1","method":"tools/call","params":{"name":"echo","arguments":{"message":"hello"}}}""";

    /// <summary>A POST a JSON-only client sends: a held call then waits without an event stream.</summary>
    private static string JsonOnlyPost(PolicyGateway g, string json, string token) =>
        $"POST /mcp HTTP/1.1\r\nHost: {g.Gateway.Authority}\r\nContent-Type: application/json\r\nAccept: application/json\r\nAuthorization: Bearer {token}\r\n"
        + $"Content-Length: {Encoding.UTF8.GetByteCount(json)}\r\n\r\n{json}";

    /// <summary>The first approval of <paramref name="g"/> still pending, once there is one (bounded wait).</summary>
    internal static async Task<PendingApproval> WaitForPendingAsync(PolicyGateway g)
    {
        for (int i = 0; i < 300; i++)
        {
            List<PendingApproval> pending = g.Gateway.Stages.Approvals!.List(includeDecided: false);
            if (pending.Count > 0) return pending[0];
            await Task.Delay(50);
        }
        throw new TimeoutException("no pending approval appeared");
    }

    /// <summary>Approves <paramref name="pending"/> over the admin API, as bob of group release unless <paramref name="approver"/> says.</summary>
    internal static async Task ApproveAsync(PolicyGateway g, PendingApproval pending, string? approver = null) =>
        Assert.Equal(HttpStatusCode.OK, (await AdminAsync(g, HttpMethod.Post, $"/approvals/{pending.Id}/approve", "{}", approver ?? g.Token("bob", "release"))).Status);

    /// <summary>Waits (bounded) until a token minted at <paramref name="mintedAt"/> with <see cref="Lifetime"/> has expired.</summary>
    private static async Task PastExpiryAsync(DateTimeOffset mintedAt)
    {
        TimeSpan left = mintedAt + Lifetime + TimeSpan.FromMilliseconds(200) - DateTimeOffset.UtcNow;
        if (left > TimeSpan.Zero) await Task.Delay(left);
    }

    private static int ToolCalls(PolicyGateway g) => g.Upstream.Requests.Count(r => r.Body.Contains("\"tools/call\"", StringComparison.Ordinal));

    private static JsonElement Error(string json) => JsonDocument.Parse(json).RootElement.GetProperty("error").Clone();

    private static async Task<string> MetricsAsync(PolicyGateway g) => await AdminGet.TextAsync(g.Gateway.AdminEndpoint, "/metrics");

    /// <summary>The identity section in force, with <paramref name="change"/> applied: what a reload of identity.* puts in force.</summary>
    private static async Task ReloadIdentityAsync(PolicyGateway g, Action<IdentityOptions> change)
    {
        IdentityOptions running = g.Gateway.Stages.Authentication!.Options;
        var reloaded = new IdentityOptions
        {
            Mode = running.Mode, Resource = running.Resource, DevKeyDirectory = running.DevKeyDirectory, ClockSkewSeconds = running.ClockSkewSeconds,
            Issuers = [.. running.Issuers],
        };
        change(reloaded);
        await g.Gateway.Stages.Authentication.ReplaceAsync(reloaded, CancellationToken.None);
    }

    [Fact]
    public async Task A_held_call_whose_token_expired_while_it_waited_is_refused_when_approved_and_never_forwarded()
    {
        await using PolicyGateway g = await StartAsync();
        DateTimeOffset minted = DateTimeOffset.UtcNow;
        string token = g.ShortLivedToken("alice", Lifetime);
        using RawClient client = await g.Gateway.ConnectAsync();
        await client.SendAsync(JsonOnlyPost(g, EchoCall, token));
        PendingApproval pending = await WaitForPendingAsync(g);

        await PastExpiryAsync(minted);
        await ApproveAsync(g, pending);
        RawResponse answer = await client.ReadResponseAsync("the refusal");

        Assert.Equal(401, answer.Status);
        Assert.Contains("invalid_token", answer.Header("WWW-Authenticate"), StringComparison.Ordinal);
        JsonElement error = Error(answer.Body);
        Assert.Equal(JsonRpcErrorCodes.Unauthorized, error.GetProperty("code").GetInt32());
        Assert.Contains($"approval {pending.Id} was approved, but the caller's token expired while the call was held", error.GetProperty("message").GetString());
        Assert.Equal(pending.Id, error.GetProperty("data").GetProperty("approvalId").GetString());
        Assert.Equal(0, ToolCalls(g));
        // Never executed: the approval stays approved (a fresh call needs its own).
        Assert.Equal(ApprovalState.Approved, pending.State);
        Assert.Equal(0, pending.Executions);
        Assert.Contains("fastmcp_approved_calls_unauthenticated_total{reason=\"token_expired\"} 1\n", await MetricsAsync(g));

        List<JsonElement> records = Parse(await g.StopAndReadAuditAsync());
        JsonElement denial = Assert.Single(records, r => Field(r, "type") == "Denied");
        Assert.Equal($"approval {pending.Id} approved, but the caller's token expired while the call was held", Field(denial, "detail"));
        Assert.Equal("alice", denial.GetProperty("user").GetProperty("subject").GetString());
        Assert.DoesNotContain(records, r => Field(r, "detail") == $"request (approval {pending.Id})");
        Assert.DoesNotContain(token, string.Join('\n', records.Select(r => r.GetRawText())), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_held_event_stream_whose_token_expired_ends_with_the_refusal_and_nothing_is_forwarded()
    {
        await using PolicyGateway g = await StartAsync();
        DateTimeOffset minted = DateTimeOffset.UtcNow;
        using RawClient client = await g.Gateway.ConnectAsync();
        await client.SendAsync(g.Gateway.Post(EchoCall, $"Authorization: Bearer {g.ShortLivedToken("alice", Lifetime)}\r\n"));
        Assert.Equal(200, (await client.ReadHeadAsync()).Status);
        PendingApproval pending = await WaitForPendingAsync(g);

        await PastExpiryAsync(minted);
        await ApproveAsync(g, pending);
        var stream = new StringBuilder();
        for (int i = 0; i < 20 && !stream.ToString().Contains("\"error\"", StringComparison.Ordinal); i++)
            stream.Append(await client.ReadChunkAsync("the refusal event"));

        Assert.Contains($"\"code\":{JsonRpcErrorCodes.Unauthorized}", stream.ToString());
        Assert.Contains("token expired while the call was held", stream.ToString());
        Assert.Null(await client.ReadChunkAsync("the end of the held stream"));
        Assert.Equal(0, ToolCalls(g));
        Assert.Equal(ApprovalState.Approved, pending.State);
    }

    [Fact]
    public async Task A_held_call_whose_issuer_a_reload_removed_while_it_waited_is_refused_when_approved()
    {
        string dir = Directory.CreateTempSubdirectory("fastmcp-heldissuer-").FullName;
        using var issuer = new FileIssuer(dir, "a");
        try
        {
            await using PolicyGateway g = await StartAsync(issuer);
            using RawClient client = await g.Gateway.ConnectAsync();
            await client.SendAsync(JsonOnlyPost(g, EchoCall, issuer.Token("alice", Resource)));
            PendingApproval pending = await WaitForPendingAsync(g);

            await ReloadIdentityAsync(g, i => i.Issuers = []);
            await ApproveAsync(g, pending);
            RawResponse answer = await client.ReadResponseAsync("the refusal");

            Assert.Equal(401, answer.Status);
            JsonElement error = Error(answer.Body);
            Assert.Equal(JsonRpcErrorCodes.Unauthorized, error.GetProperty("code").GetInt32());
            Assert.Contains($"approval {pending.Id} was approved, but the caller's token is no longer accepted", error.GetProperty("message").GetString());
            Assert.Contains("not trusted", error.GetProperty("message").GetString());
            Assert.Equal(0, ToolCalls(g));
            Assert.Equal(ApprovalState.Approved, pending.State);
            Assert.Contains("fastmcp_approved_calls_unauthenticated_total{reason=\"token_refused\"} 1\n", await MetricsAsync(g));

            JsonElement denial = Assert.Single(Parse(await g.StopAndReadAuditAsync()), r => Field(r, "type") == "Denied");
            Assert.StartsWith($"approval {pending.Id} approved, but the caller's token is no longer accepted (WrongIssuer", Field(denial, "detail"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task A_held_call_whose_signing_key_the_issuer_retired_while_it_waited_is_refused_when_approved()
    {
        string jwksPath = Path.Combine(Path.GetTempPath(), "fastmcp-heldkeys-" + Guid.NewGuid().ToString("N") + ".json");
        using var keys = new JwksFileKeys(jwksPath);
        try
        {
            await using PolicyGateway g = await StartAsync(new TrustedIssuerOptions { Issuer = JwksFileKeys.Issuer, JwksFile = jwksPath });
            using RawClient client = await g.Gateway.ConnectAsync();
            await client.SendAsync(JsonOnlyPost(g, EchoCall, keys.Token("alice", Resource)));
            PendingApproval pending = await WaitForPendingAsync(g);

            // No reload: the issuer publishes another key, and a refresh (periodic, or SIGHUP) takes it.
            keys.Publish(first: false);
            Assert.Empty(await g.Gateway.Stages.Authentication!.RefreshKeysAsync());
            await ApproveAsync(g, pending);
            RawResponse answer = await client.ReadResponseAsync("the refusal");

            Assert.Equal(401, answer.Status);
            Assert.Contains("signing key 'k1' is unknown", Error(answer.Body).GetProperty("message").GetString());
            Assert.Equal(0, ToolCalls(g));
            Assert.Contains("fastmcp_approved_calls_unauthenticated_total{reason=\"token_refused\"} 1\n", await MetricsAsync(g));
        }
        finally
        {
            File.Delete(jwksPath);
        }
    }

    [Fact]
    public async Task A_held_call_whose_token_a_reloaded_identity_still_accepts_is_forwarded_once_approved()
    {
        string dir = Directory.CreateTempSubdirectory("fastmcp-heldissuer-").FullName;
        using var issuer = new FileIssuer(dir, "a");
        try
        {
            await using PolicyGateway g = await StartAsync(issuer);
            using RawClient client = await g.Gateway.ConnectAsync();
            await client.SendAsync(JsonOnlyPost(g, EchoCall, issuer.Token("alice", Resource)));
            PendingApproval pending = await WaitForPendingAsync(g);

            // Another validator, with an empty cache: the held token is verified again under it, and passes.
            await ReloadIdentityAsync(g, i => i.ClockSkewSeconds = 5);
            await ApproveAsync(g, pending);
            RawResponse answer = await client.ReadResponseAsync("the upstream's answer");

            Assert.Equal(200, answer.Status);
            Assert.False(JsonDocument.Parse(answer.Body).RootElement.TryGetProperty("error", out _), answer.Body);
            Assert.Equal(1, ToolCalls(g));
            Assert.Equal(ApprovalState.Executed, pending.State);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task A_held_call_whose_token_lacks_a_scope_a_reload_now_requires_is_refused_when_approved()
    {
        await using PolicyGateway g = await StartAsync();
        using RawClient client = await g.Gateway.ConnectAsync();
        await client.SendAsync(JsonOnlyPost(g, EchoCall, g.Token("alice")));
        PendingApproval pending = await WaitForPendingAsync(g);

        await ReloadIdentityAsync(g, i => i.RequiredScopes = ["mcp:admin"]);
        // The approver holds the scope now required (the admin API authenticates under the same configuration).
        using (DevKey key = DevKeys.LoadOrCreate(g.DevKeyDirectory))
            await ApproveAsync(g, pending, key.Mint("bob", ["release"], ["mcp:admin"], null, DevKeys.Audience, DateTimeOffset.UtcNow, TimeSpan.FromMinutes(10)));
        RawResponse answer = await client.ReadResponseAsync("the refusal");

        Assert.Equal(403, answer.Status);
        Assert.Contains("insufficient_scope", answer.Header("WWW-Authenticate"), StringComparison.Ordinal);
        Assert.Equal(JsonRpcErrorCodes.Unauthorized, Error(answer.Body).GetProperty("code").GetInt32());
        Assert.Equal(0, ToolCalls(g));
    }

    [Fact]
    public async Task A_held_call_whose_token_a_reloaded_claim_mapping_reads_as_another_caller_is_refused_when_approved()
    {
        await using PolicyGateway g = await StartAsync();
        using DevKey key = DevKeys.LoadOrCreate(g.DevKeyDirectory);
        DateTimeOffset now = DateTimeOffset.UtcNow;
        using RawClient client = await g.Gateway.ConnectAsync();
        await client.SendAsync(JsonOnlyPost(g, EchoCall, key.Mint("alice", [], [], "cli-7", DevKeys.Audience, now, TimeSpan.FromMinutes(10))));
        PendingApproval pending = await WaitForPendingAsync(g);

        // The subject is now read from client_id: the same token is cli-7's, not the alice approvers were asked about.
        await ReloadIdentityAsync(g, i => i.ClaimMapping = new ClaimMappingOptions { SubjectClaim = "client_id" });
        await ApproveAsync(g, pending, key.Mint("bob", ["release"], [], "bob", DevKeys.Audience, now, TimeSpan.FromMinutes(10)));
        RawResponse answer = await client.ReadResponseAsync("the refusal");

        Assert.Equal(401, answer.Status);
        JsonElement error = Error(answer.Body);
        Assert.Equal(JsonRpcErrorCodes.Unauthorized, error.GetProperty("code").GetInt32());
        Assert.Contains("it now names another caller", error.GetProperty("message").GetString());
        Assert.Equal(0, ToolCalls(g));
        Assert.Contains("fastmcp_approved_calls_unauthenticated_total{reason=\"token_refused\"} 1\n", await MetricsAsync(g));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_held_dpop_bound_call_is_forwarded_once_approved_without_its_single_use_proof_being_checked_again(bool reloadWhileHeld)
    {
        await using PolicyGateway g = await StartAsync();
        using var tokens = new BoundTokens(g.DevKeyDirectory);
        using var key = new DpopKey();
        string token = tokens.DpopBound("alice", key);
        using RawClient client = await g.Gateway.ConnectAsync();
        await client.SendAsync(g.Gateway.Post(EchoCall, $"Authorization: DPoP {token}\r\nDPoP: {key.Proof("POST", Resource, token)}\r\n").Replace(
            "Accept: application/json, text/event-stream", "Accept: application/json", StringComparison.Ordinal));
        PendingApproval pending = await WaitForPendingAsync(g);

        // Cached (the proof's replay would be refused) or verified in full under a new validator (which keeps the replays).
        if (reloadWhileHeld) await ReloadIdentityAsync(g, i => i.ClockSkewSeconds = 5);
        await ApproveAsync(g, pending);
        RawResponse answer = await client.ReadResponseAsync("the upstream's answer");

        Assert.Equal(200, answer.Status);
        Assert.False(JsonDocument.Parse(answer.Body).RootElement.TryGetProperty("error", out _), answer.Body);
        Assert.Equal(1, ToolCalls(g));
    }

    [Fact]
    public async Task A_held_bearer_call_is_refused_when_approved_once_a_reload_requires_dpop_bound_tokens()
    {
        await using PolicyGateway g = await StartAsync();
        using RawClient client = await g.Gateway.ConnectAsync();
        await client.SendAsync(JsonOnlyPost(g, EchoCall, g.Token("alice")));
        PendingApproval pending = await WaitForPendingAsync(g);

        await ReloadIdentityAsync(g, i => i.Dpop.Required = true);
        // The approver's own token is bound too, as the configuration in force requires.
        using var tokens = new BoundTokens(g.DevKeyDirectory);
        using var approverKey = new DpopKey();
        string bob = tokens.DpopBound("bob", approverKey, "release");
        string approve = $"http://127.0.0.1:{g.Gateway.AdminEndpoint.Port}/approvals/{pending.Id}/approve";
        using (var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) })
        using (var request = new HttpRequestMessage(HttpMethod.Post, approve) { Content = new StringContent("{}", Encoding.UTF8, "application/json") })
        {
            request.Headers.TryAddWithoutValidation("Authorization", "DPoP " + bob);
            request.Headers.TryAddWithoutValidation("DPoP", approverKey.Proof("POST", approve, bob));
            using HttpResponseMessage approved = await http.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, approved.StatusCode);
        }
        RawResponse answer = await client.ReadResponseAsync("the refusal");

        Assert.Equal(401, answer.Status);
        Assert.Contains("DPoP-bound", Error(answer.Body).GetProperty("message").GetString());
        Assert.Equal(0, ToolCalls(g));
    }

    [Fact]
    public async Task Under_streams_end_with_token_all_an_approved_held_calls_answer_stream_ends_at_the_tokens_expiry()
    {
        var upstream = new NotifyingUpstream("{}", pauseAfterFirst: true,
            "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{\"progressToken\":1,\"progress\":1,\"message\":\"early\"}}",
            "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{\"progressToken\":1,\"progress\":2,\"message\":\"late\"}}");
        await using PolicyGateway g = await PolicyGateway.StartAsync(upstream.Script,
        [
            new RuleOptions { Name = "watch-held", Action = "require_approval", Methods = ["tools/call"], Names = ["watch"], Approvers = ["release"] },
            new RuleOptions { Name = "rest", Action = "allow" },
        ], o =>
        {
            o.Identity!.ClockSkewSeconds = 0;
            o.Identity.StreamsEndWithToken = StreamsEndWithToken.All;
            o.Approvals.KeepAliveSeconds = 1;
        });
        TimeSpan lifetime = TimeSpan.FromSeconds(5);
        DateTimeOffset minted = DateTimeOffset.UtcNow;
        string token = g.ShortLivedToken("alice", lifetime);
        await NotifyingUpstream.InitializeAsync(g, token);
        using RawClient client = await g.Gateway.ConnectAsync();
        await client.SendAsync(g.Gateway.Post(NotifyingUpstream.ToolCall, $"Authorization: Bearer {token}\r\n{NotifyingUpstream.SessionHeaders}"));
        Assert.Equal(200, (await client.ReadHeadAsync()).Status);

        // Approved in time: forwarded, and its answer stream relayed into the held one until the token expires.
        await ApproveAsync(g, await WaitForPendingAsync(g));
        var seen = new StringBuilder();
        for (int i = 0; i < 20 && !seen.ToString().Contains("early", StringComparison.Ordinal); i++) seen.Append(await client.ReadChunkAsync("the first upstream event"));
        Assert.Contains("early", seen.ToString());
        TimeSpan left = minted + lifetime + TimeSpan.FromMilliseconds(200) - DateTimeOffset.UtcNow;
        if (left > TimeSpan.Zero) await Task.Delay(left);
        upstream.Resume.SetResult();
        string rest = await NotifyingUpstream.ReadStreamAsync(client);

        Assert.DoesNotContain("late", rest);
        Assert.DoesNotContain("\"done\"", rest);
        Assert.Equal(1, ToolCalls(g));
        Assert.Contains("fastmcp_streams_ended_total{reason=\"token_expired\"} 1\n", await MetricsAsync(g));
    }

    [Fact]
    public async Task A_grant_admits_a_later_identical_call_only_on_that_calls_own_valid_token()
    {
        await using PolicyGateway g = await StartAsync(mode: "grant");
        DateTimeOffset minted = DateTimeOffset.UtcNow;
        string shortLived = g.ShortLivedToken("alice", Lifetime);
        using (RawClient ask = await g.Gateway.ConnectAsync())
        {
            await ask.SendAsync(JsonOnlyPost(g, EchoCall, shortLived));
            Assert.Equal(JsonRpcErrorCodes.ApprovalRequired, Error((await ask.ReadResponseAsync("the pending answer")).Body).GetProperty("code").GetInt32());
        }
        await ApproveAsync(g, await WaitForPendingAsync(g));

        // The grant stands, but the token that asked for it has expired: the identical call on it is refused at admission.
        await PastExpiryAsync(minted);
        RawResponse expired = await g.PostAsync(EchoCall, shortLived);
        Assert.Equal(401, expired.Status);
        Assert.Equal(0, ToolCalls(g));

        // The same caller's fresh token is what the grant admits the call on.
        RawResponse fresh = await g.PostAsync(EchoCall, g.Token("alice"));
        Assert.Equal(200, fresh.Status);
        Assert.Equal(1, ToolCalls(g));
    }
}
