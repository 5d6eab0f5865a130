using System.Net;
using System.Text;
using System.Text.Json;
using FastMcp.Gateway.Approvals;
using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Hosting;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Policy;
using static FastMcp.Gateway.Tests.Support.AuditRecordFields;
using static FastMcp.Gateway.Tests.Support.AdminRequests;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// A require_approval rule's maskProfile masks the call it stops once approved (hold) or admitted by a grant (grant), both
/// ways, as an allow rule's masks the calls it allows: a contractor whose refunds need approval reads no digit in the
/// approved refund's answer either. Approvers are shown the call masked with the default. Through the real gateway: an
/// approver approving on the admin API, an upstream answering a card number as JSON or as an event stream.
/// </summary>
public sealed class ApprovalMaskProfileTests
{
    private const string Pan = "4111111111111111";
    private const string Default = "411111******1111";
    private const string Strict = "****************";
    private const string ProcessorMasked = "************1111";

    private static List<RuleOptions> Rules(string holdProfile = "contractor") =>
    [
        new RuleOptions { Name = "contractor-refunds", Action = "require_approval", Subjects = ["carol"], Methods = ["tools/call"], Names = ["refund"],
            Approvers = ["release"], MaskProfile = holdProfile },
        new RuleOptions { Name = "contractor-payouts", Action = "require_approval", Subjects = ["carol"], Methods = ["tools/call"], Names = ["payout"],
            Approvers = ["release"], ApprovalMode = "grant", MaskProfile = "processor" },
        new RuleOptions { Name = "contractors", Action = "allow", Subjects = ["carol"], MaskProfile = "contractor" },
        new RuleOptions { Name = "rest", Action = "allow" },
    ];

    /// <summary>contractor: no digit visible, requests masked; processor: requests forwarded, the last 4 visible; strict: requests blocked.</summary>
    private static void Profiles(GatewayOptions o)
    {
        o.Masking.Profiles["contractor"] = new MaskingProfileOptions { KeepFirst = 0, KeepLast = 0 };
        o.Masking.Profiles["processor"] = new MaskingProfileOptions { Requests = "forward", KeepFirst = 0 };
        o.Masking.Profiles["blocking"] = new MaskingProfileOptions { Requests = "block", KeepFirst = 0, KeepLast = 0 };
    }

    /// <summary>Answers a call with a card number in its text: as an event stream when the arguments ask for one, else as JSON.</summary>
    private static async Task AnswersACard(UpstreamExchange x)
    {
        string answer = "{\"jsonrpc\":\"2.0\",\"id\":" + x.Request.IdJson() + ",\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"refunded to " + Pan + "\"}]}}";
        if (!x.Request.Body.Contains("\"stream\":true", StringComparison.Ordinal))
        {
            await x.RespondJsonAsync(answer);
            return;
        }
        await x.StartEventStreamAsync();
        await x.SendEventAsync("event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{\"level\":\"info\",\"data\":\"progress on " + Pan + "\"}}\n\n");
        await x.SendEventAsync("event: message\ndata: " + answer + "\n\n");
        await x.EndChunkedAsync();
    }

    private static string Call(string id, string tool, bool stream = false) =>
        "{\"jsonrpc\":\"2.0\",\"id\":\"" + id + "\",\"method\":\"tools/call\",\"params\":{\"name\":\"" + tool + "\",\"arguments\":{\"card\":\"" + Pan + "\""
        + (stream ? ",\"stream\":true" : "") + "}}}";

    /// <summary>A POST whose client reads only JSON (a held call then waits without an event stream).</summary>
    private static string JsonOnlyPost(PolicyGateway g, string json, string token) =>
        $"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nAccept: application/json\r\nAuthorization: Bearer {token}\r\n"
        + $"Content-Length: {Encoding.UTF8.GetByteCount(json)}\r\n\r\n{json}";

    private static async Task<PendingApproval> WaitForPendingAsync(PolicyGateway g)
    {
        for (int i = 0; i < 300; i++)
        {
            List<PendingApproval> pending = g.Gateway.Stages.Approvals!.List(includeDecided: false);
            if (pending.Count > 0) return pending[0];
            await Task.Delay(50);
        }
        throw new TimeoutException("no pending approval appeared");
    }

    /// <summary>What the approver is shown of the approval, checked to be the call masked with the default; then approves it.</summary>
    private static async Task ShowDefaultMaskedThenApproveAsync(PolicyGateway g, string id, string bob)
    {
        var (shown, view) = await AdminAsync(g, HttpMethod.Get, $"/approvals/{id}", null, bob);
        Assert.Equal(HttpStatusCode.OK, shown);
        Assert.Contains($"\"card\":\"{Default}\"", view.GetProperty("arguments").GetString());
        Assert.Contains($"\"card\":\"{Default}\"", view.GetProperty("params").GetString());
        var (approved, _) = await AdminAsync(g, HttpMethod.Post, $"/approvals/{id}/approve", "{}", bob);
        Assert.Equal(HttpStatusCode.OK, approved);
    }

    [Fact]
    public async Task A_held_call_a_json_client_waits_for_is_answered_and_forwarded_masked_with_the_rules_profile()
    {
        await using PolicyGateway g = await PolicyGateway.StartAsync(AnswersACard, Rules(), Profiles);
        string carol = g.Token("carol"), bob = g.Token("bob", "release");

        using RawClient client = await g.Gateway.ConnectAsync();
        await client.SendAsync(JsonOnlyPost(g, Call("r-1", "refund"), carol));
        PendingApproval pending = await WaitForPendingAsync(g);
        await ShowDefaultMaskedThenApproveAsync(g, pending.Id, bob);
        RawResponse answer = await client.ReadResponseAsync("the approved call's answer");

        Assert.Equal(200, answer.Status);
        Assert.Contains($"refunded to {Strict}", answer.Body);
        Assert.DoesNotContain(Default, answer.Body);
        // The request went out under the profile's request rule: masked, no digit kept.
        Assert.Contains($"\"card\":\"{Strict}\"", g.Upstream.SingleRequest().Body);

        List<JsonElement> records = Parse(await g.StopAndReadAuditAsync());
        Assert.Empty(AuditCards.FindCardNumbers([.. records.Select(r => r.GetRawText())]));
        // The approval's record holds the call as approvers saw it (its digest is recomputable from it); the forwarded
        // request and its answer are recorded as the upstream and the caller got them.
        JsonElement requested = records.Single(r => Field(r, "type") == "ApprovalRequested");
        Assert.Contains(Default, requested.GetProperty("request").GetRawText());
        JsonElement forwarded = records.Single(r => Field(r, "detail") == $"request (approval {pending.Id})");
        Assert.Equal("contractor-refunds", Field(forwarded, "rule"));
        Assert.Contains(Strict, forwarded.GetProperty("request").GetRawText());
        JsonElement response = records.Single(r => Field(r, "detail") == $"response (approval {pending.Id})");
        Assert.Contains($"refunded to {Strict}", response.GetProperty("response").GetRawText());
    }

    [Fact]
    public async Task A_held_call_on_an_event_stream_relays_json_and_event_stream_answers_masked_with_the_rules_profile()
    {
        await using PolicyGateway g = await PolicyGateway.StartAsync(AnswersACard, Rules(), Profiles);
        string carol = g.Token("carol"), bob = g.Token("bob", "release");

        foreach (bool upstreamStreams in new[] { false, true })
        {
            using RawClient client = await g.Gateway.ConnectAsync();
            await client.SendAsync(g.Gateway.Post(Call("s-" + upstreamStreams, "refund", upstreamStreams), $"Authorization: Bearer {carol}\r\n"));
            PendingApproval pending = await WaitForPendingAsync(g);
            await ShowDefaultMaskedThenApproveAsync(g, pending.Id, bob);
            RawResponse answer = await client.ReadResponseAsync("the approved call's event stream");

            Assert.Equal("text/event-stream", answer.Header("Content-Type"));
            List<string> events = EventStreamText.EventData(answer.Body);
            Assert.Contains(events, e => e.Contains($"refunded to {Strict}", StringComparison.Ordinal));
            if (upstreamStreams) Assert.Contains(events, e => e.Contains($"progress on {Strict}", StringComparison.Ordinal));
            Assert.DoesNotContain(Default, answer.Body);
            Assert.DoesNotContain(Pan, answer.Body);
        }

        List<JsonElement> records = Parse(await g.StopAndReadAuditAsync());
        Assert.Empty(AuditCards.FindCardNumbers([.. records.Select(r => r.GetRawText())]));
        // The progress event is recorded as carol received it.
        JsonElement progress = records.Single(r => Field(r, "detail") == "server notification");
        Assert.Contains($"progress on {Strict}", progress.GetProperty("request").GetRawText());
    }

    [Fact]
    public async Task A_call_a_grant_admits_is_masked_with_the_profile_of_the_rule_both_ways()
    {
        await using PolicyGateway g = await PolicyGateway.StartAsync(AnswersACard, Rules(), Profiles);
        string carol = g.Token("carol"), bob = g.Token("bob", "release");

        RawResponse refused = await g.PostAsync(Call("p-1", "payout"), carol);
        Assert.Equal(-32002, refused.JsonRpcError().Code);
        Assert.Empty(g.Upstream.Requests);
        await ShowDefaultMaskedThenApproveAsync(g, (await WaitForPendingAsync(g)).Id, bob);

        RawResponse admitted = await g.PostAsync(Call("p-2", "payout"), carol);
        Assert.Equal("\"p-2\"", admitted.IdJson());
        // The processor profile forwards the card number as sent and shows the caller the last four digits only.
        Assert.Contains($"\"card\":\"{Pan}\"", g.Upstream.SingleRequest().Body);
        Assert.Contains($"refunded to {ProcessorMasked}", admitted.Body);
        Assert.DoesNotContain(Default, admitted.Body);

        List<JsonElement> records = Parse(await g.StopAndReadAuditAsync());
        Assert.Empty(AuditCards.FindCardNumbers([.. records.Select(r => r.GetRawText())]));
        JsonElement response = records.Single(r => Field(r, "detail")?.StartsWith("response (approval ", StringComparison.Ordinal) == true);
        Assert.Contains($"refunded to {ProcessorMasked}", response.GetProperty("response").GetRawText());
    }

    [Fact]
    public async Task On_a_federated_path_a_granted_call_to_a_member_is_masked_with_the_profile_of_the_rule_both_ways()
    {
        await using var member = new ScriptedUpstream(ScriptedMember.Serve("payments", (x, id) => x.RespondJsonAsync(
            ScriptedMember.Result(id, "{\"content\":[{\"type\":\"text\",\"text\":\"refunded to " + Pan + "\"}]}"), "Mcp-Session-Id: s-payments\r\n")));
        await using PolicyGateway g = await PolicyGateway.StartAsync(AnswersACard,
        [
            new RuleOptions { Name = "contractor-refunds", Action = "require_approval", Subjects = ["carol"], Methods = ["tools/call"], Names = ["refund"],
                Approvers = ["release"], ApprovalMode = "grant", MaskProfile = "contractor", Upstreams = ["payments"] },
            new RuleOptions { Name = "rest", Action = "allow" },
        ], o =>
        {
            Profiles(o);
            o.Upstreams["payments"] = new UpstreamOptions { Url = member.Url, ConnectTimeoutMs = 1_000 };
            o.Routes = [new RouteOptions { Path = "/mcp/all", Federate = ["payments"] }];
        });
        string carol = g.Token("carol"), bob = g.Token("bob", "release");
        const string initialize = """{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}""";
        string session = (await g.PostAsync(initialize, carol, path: "/mcp/all")).Header("Mcp-Session-Id")!;
        string inSession = $"Mcp-Session-Id: {session}\r\nMCP-Protocol-Version: 2025-06-18\r\n";

        RawResponse refused = await g.PostAsync(Call("f-1", "payments__refund"), carol, inSession, "/mcp/all");
        Assert.Equal(-32002, refused.JsonRpcError().Code);
        await ShowDefaultMaskedThenApproveAsync(g, (await WaitForPendingAsync(g)).Id, bob);
        RawResponse admitted = await g.PostAsync(Call("f-2", "payments__refund"), carol, inSession, "/mcp/all");

        Assert.Equal("\"f-2\"", admitted.IdJson());
        Assert.Contains($"refunded to {Strict}", admitted.Body);
        UpstreamRequest call = member.Requests.Single(r => r.Body.Contains("\"tools/call\"", StringComparison.Ordinal));
        Assert.Contains($"\"card\":\"{Strict}\"", call.Body);
        Assert.Empty(AuditCards.FindCardNumbers(await g.StopAndReadAuditAsync()));
    }

    [Fact]
    public async Task A_held_call_whose_profile_blocks_card_numbers_is_refused_before_any_approval_is_asked()
    {
        await using PolicyGateway g = await PolicyGateway.StartAsync(AnswersACard, Rules("blocking"), Profiles);
        RawResponse refused = await g.PostAsync(Call("b-1", "refund"), g.Token("carol"));

        Assert.Equal(-32001, refused.JsonRpcError().Code);
        Assert.Contains("request contains a card number", refused.Body);
        Assert.Empty(g.Gateway.Stages.Approvals!.List(includeDecided: true));
        Assert.Empty(g.Upstream.Requests);
    }

    [Fact]
    public async Task A_require_approval_rule_naming_a_profile_that_does_not_exist_stops_the_gateway_from_starting()
    {
        var e = await Assert.ThrowsAsync<ConfigurationException>(() => PolicyGateway.StartAsync(AnswersACard, Rules("contractr"), Profiles));
        Assert.Equal("policy.rules[contractor-refunds].maskProfile", e.Field);
        Assert.Contains("contractor", e.Message); // the profiles that do exist are named
    }
}
