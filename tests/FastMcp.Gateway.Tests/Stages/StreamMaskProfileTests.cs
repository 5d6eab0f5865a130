using System.Globalization;
using System.Text.Json;
using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Proxy;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Policy;
using static FastMcp.Gateway.Tests.Support.AuditRecordFields;
using static FastMcp.Gateway.Tests.Support.NotifyingUpstream;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// What a GET stream relays (server notifications, requests, answers) is masked for the client with the profile of the rule
/// that allowed the GET, as a POST's exchange is masked with its rule's: a contractor whose profile keeps no digit reads none
/// on their event stream either. A stream decided again (after a reload, or under a time condition) takes the new rule's
/// profile for the events that follow. Through the real gateway, its upstream sending a card number on the stream.
/// </summary>
public sealed class StreamMaskProfileTests
{
    private const string Pan = "4111111111111111";
    private const string Default = "411111******1111";
    private const string Strict = "****************";

    private static string Logged(string mark) =>
        "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{\"level\":\"info\",\"data\":\"" + mark + " card " + Pan + "\"}}";

    private static NotifyingUpstream Streaming(bool pauseAfterFirst = false) => new("{\"logging\":{}}", pauseAfterFirst, Logged("EVENT-MARK"), Logged("SECOND-MARK"));

    /// <summary>The contractor profile keeps no digit visible; the default keeps 6 and 4.</summary>
    private static void ContractorProfile(GatewayOptions o) =>
        o.Masking.Profiles["contractor"] = new MaskingProfileOptions { KeepFirst = 0, KeepLast = 0 };

    private static RuleOptions Contractors(params string[] subjects) =>
        new() { Name = "contractors", Action = "allow", Subjects = [.. subjects], MaskProfile = "contractor" };

    private static RuleOptions Everyone => new() { Name = "sessions", Action = "allow", Methods = ["initialize", "tools/call", "logging/setLevel"] };

    /// <summary>The event (after "EVENT-MARK" or "SECOND-MARK") in <paramref name="text"/>, up to the end of its data.</summary>
    private static string EventData(string text, string mark)
    {
        int at = text.IndexOf(mark, StringComparison.Ordinal);
        Assert.True(at >= 0, $"no event {mark} in: {text}");
        int end = text.IndexOf('"', at);
        return text[at..end];
    }

    [Fact]
    public async Task A_get_stream_is_masked_with_the_profile_of_the_rule_that_allowed_it()
    {
        var upstream = Streaming();
        await using PolicyGateway g = await PolicyGateway.StartAsync(upstream.Script, [Contractors("carol"), Everyone], ContractorProfile);
        string carol = g.Token("carol"), alice = g.Token("alice");
        await InitializeAsync(g, carol);

        string carols;
        using (RawClient stream = await OpenGetStreamAsync(g, carol)) carols = await ReadStreamAsync(stream);
        await InitializeAsync(g, alice);
        string alices;
        using (RawClient stream = await OpenGetStreamAsync(g, alice)) alices = await ReadStreamAsync(stream);

        Assert.Equal($"EVENT-MARK card {Strict}", EventData(carols, "EVENT-MARK"));
        Assert.Equal($"SECOND-MARK card {Strict}", EventData(carols, "SECOND-MARK"));
        Assert.Equal($"EVENT-MARK card {Default}", EventData(alices, "EVENT-MARK"));
        // The records of carol's stream: the GET names the rule; each event is recorded as she received it.
        List<JsonElement> records = Parse(await g.StopAndReadAuditAsync());
        JsonElement get = records.First(r => Method(r) == "GET stream" && r.GetProperty("user").GetProperty("subject").GetString() == "carol");
        Assert.Equal("contractors", Field(get, "rule"));
        List<string> carolsEvents = [.. records.Where(r => Field(r, "detail") == "server notification" && r.GetProperty("user").GetProperty("subject").GetString() == "carol")
            .Select(r => r.GetProperty("request").GetRawText())];
        Assert.Equal(2, carolsEvents.Count);
        Assert.All(carolsEvents, e => Assert.Contains(Strict, e));
        Assert.Empty(AuditCards.FindCardNumbers([.. records.Select(r => r.GetRawText())]));
    }

    [Fact]
    public async Task A_posts_event_stream_answer_is_masked_with_the_profile_of_the_rule_that_allowed_the_post()
    {
        var upstream = Streaming();
        await using PolicyGateway g = await PolicyGateway.StartAsync(upstream.Script, [Contractors("carol"), Everyone], ContractorProfile);
        string carol = g.Token("carol");
        await InitializeAsync(g, carol);

        RawResponse answer = await g.PostAsync(ToolCall, carol, SessionHeaders);

        Assert.Equal($"EVENT-MARK card {Strict}", EventData(answer.Body, "EVENT-MARK"));
        Assert.DoesNotContain(Default, answer.Body);
    }

    [Fact]
    public async Task A_held_calls_answer_is_masked_with_the_default_which_its_require_approval_rule_cannot_change()
    {
        // Carol's other calls are masked with her profile; the held one's rule decides it, and names no profile (it cannot).
        var upstream = Streaming();
        await using PolicyGateway g = await PolicyGateway.StartAsync(upstream.Script,
            [new RuleOptions { Name = "watch-held", Action = "require_approval", Methods = ["tools/call"], Names = ["watch"], Approvers = ["release"] },
                Contractors("carol"), Everyone], ContractorProfile);
        string carol = g.Token("carol");
        await InitializeAsync(g, carol);

        Task<RawResponse> held = g.PostAsync(ToolCall, carol, SessionHeaders);
        FastMcp.Gateway.Approvals.PendingApproval? pending = null;
        for (int i = 0; i < 200 && pending is null; i++)
        {
            pending = g.Gateway.Stages.Approvals!.List(includeDecided: false).FirstOrDefault();
            if (pending is null) await Task.Delay(50);
        }
        Assert.NotNull(pending);
        var bob = new FastMcp.Identity.Principal("bob", ["release"], [], null, "issuer", DateTimeOffset.MaxValue);
        Assert.Equal(200, (await g.Gateway.Stages.Approvals!.ApproveAsync(pending.Id, bob, null, "127.0.0.1")).Status);
        RawResponse answer = await held.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal($"EVENT-MARK card {Default}", EventData(answer.Body, "EVENT-MARK"));
    }

    [Fact]
    public async Task After_a_reload_that_allows_the_caller_by_another_rule_the_following_events_take_its_profile()
    {
        var upstream = Streaming(pauseAfterFirst: true);
        await using PolicyGateway g = await PolicyGateway.StartAsync(upstream.Script, [Everyone], ContractorProfile);

        // Alice's first event under the default; then she is made a contractor by a reload, her stream still open.
        string rest = await upstream.ReloadMidStreamAsync(g, $"EVENT-MARK card {Default}", [Contractors("alice"), Everyone]);

        Assert.Equal($"SECOND-MARK card {Strict}", EventData(rest, "SECOND-MARK"));
        Assert.Equal(0, g.Gateway.Host.Runtime.Counters.StreamsEnded[(int)StreamEndReason.PolicyRevoked - 1]);
    }

    [Fact]
    public async Task Under_a_time_condition_the_rule_that_allows_the_stream_once_the_window_closes_masks_the_following_events()
    {
        var start = new DateTimeOffset(2030, 3, 4, 17, 0, 0, TimeSpan.Zero);
        var clock = new ManualPolicyClock(start);
        string freeze = start.AddHours(1).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        // Until the freeze alice reads with the default; after it, only as a contractor does.
        List<RuleOptions> rules =
        [
            new RuleOptions { Name = "until-freeze", Action = "allow", Subjects = ["alice"], Time = new TimeConditionOptions { NotAfter = freeze } },
            Contractors("alice"),
        ];
        var upstream = Streaming(pauseAfterFirst: true);
        await using PolicyGateway g = await PolicyGateway.StartAsync(upstream.Script, rules, ContractorProfile, clock);
        string token = g.Token("alice");
        await InitializeAsync(g, token);
        using RawClient stream = await OpenGetStreamAsync(g, token);
        string? first = await stream.ReadChunkAsync("the first event");
        Assert.NotNull(first);
        Assert.Equal($"EVENT-MARK card {Default}", EventData(first, "EVENT-MARK"));

        clock.Advance(TimeSpan.FromHours(2));
        upstream.Resume.SetResult();
        string rest = await ReadStreamAsync(stream);

        Assert.Equal($"SECOND-MARK card {Strict}", EventData(rest, "SECOND-MARK"));
        Assert.Equal(0, g.Gateway.Host.Runtime.Counters.StreamsEnded[(int)StreamEndReason.PolicyWindowClosed - 1]);
    }
}
