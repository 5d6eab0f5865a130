using System.Globalization;
using System.Text.Json;
using FastMcp.Gateway.Proxy;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Policy;
using static FastMcp.Gateway.Tests.Support.AuditRecordFields;
using static FastMcp.Gateway.Tests.Support.NotifyingUpstream;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// An open GET stream under a policy with time conditions is decided again without any reload: at each event, and on the
/// connection's heartbeat while quiet. Through the real gateway, whose policy reads a clock the test moves: once the
/// caller's initialize is no longer allowed (a notAfter passed) the stream ends cleanly, counted and recorded as
/// policy_window_closed; a stream whose initialize rule has no time condition is untouched.
/// </summary>
public sealed class StreamTimeWindowTests
{
    private const string StreamEvent = "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{\"level\":\"info\",\"data\":\"EVENT-MARK\"}}";

    private static readonly DateTimeOffset Start = new(2030, 3, 4, 17, 0, 0, TimeSpan.Zero);

    private static string Instant(DateTimeOffset at) => at.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    /// <summary>Sessions may be opened until the change freeze, an hour after the test's start.</summary>
    private static List<RuleOptions> SessionsUntilFreeze =>
    [
        new RuleOptions { Name = "sessions-until-freeze", Action = "allow", Methods = ["initialize"],
            Time = new TimeConditionOptions { NotAfter = Instant(Start.AddHours(1)) } },
        new RuleOptions { Name = "calls", Action = "allow", Methods = ["tools/call", "logging/setLevel"] },
    ];

    /// <summary>Sessions any time; only deploy calls stop at the freeze (the policy reads the clock, the session rule does not).</summary>
    private static List<RuleOptions> OnlyDeployUntilFreeze =>
    [
        new RuleOptions { Name = "deploy-until-freeze", Action = "allow", Methods = ["tools/call"], Names = ["deploy"],
            Time = new TimeConditionOptions { NotAfter = Instant(Start.AddHours(1)) } },
        new RuleOptions { Name = "sessions", Action = "allow", Methods = ["initialize", "logging/setLevel"] },
    ];

    private static NotifyingUpstream Streaming() =>
        new("{\"logging\":{}}", pauseAfterFirst: true, StreamEvent, StreamEvent.Replace("EVENT-MARK", "SECOND-MARK", StringComparison.Ordinal));

    private static long Ended(PolicyGateway g, StreamEndReason reason) => g.Gateway.Host.Runtime.Counters.StreamsEnded[(int)reason - 1];

    /// <summary>Alice's session and GET stream, its first event read.</summary>
    private static async Task<RawClient> OpenAliceStreamAsync(PolicyGateway g)
    {
        string token = g.Token("alice");
        await InitializeAsync(g, token);
        RawClient client = await OpenGetStreamAsync(g, token);
        string? first = await client.ReadChunkAsync("the first event");
        Assert.NotNull(first);
        Assert.Contains("EVENT-MARK", first);
        return client;
    }

    [Fact]
    public async Task A_quiet_stream_ends_on_the_heartbeat_once_the_window_closes_without_any_event()
    {
        var clock = new ManualPolicyClock(Start);
        var upstream = Streaming();
        await using PolicyGateway g = await PolicyGateway.StartAsync(upstream.Script, SessionsUntilFreeze, policyClock: clock);
        using RawClient stream = await OpenAliceStreamAsync(g);

        // The upstream sends nothing more (never resumed): only the heartbeat can end the stream.
        clock.Advance(TimeSpan.FromHours(2));
        string rest = await ReadStreamAsync(stream);

        Assert.DoesNotContain("SECOND-MARK", rest);
        Assert.Equal(1, Ended(g, StreamEndReason.PolicyWindowClosed));
        Assert.Equal(0, Ended(g, StreamEndReason.PolicyRevoked));
        List<JsonElement> records = Parse(await g.StopAndReadAuditAsync());
        Assert.Contains(records, r => Field(r, "detail") == StreamEndReasons.Detail(StreamEndReason.PolicyWindowClosed));
    }

    /// <summary>
    /// Alice's stream opened at the test's start under <paramref name="rules"/>; the clock moved by <paramref name="advance"/>,
    /// then the upstream sends its second event: what the client read after that, and the streams ended as window closed.
    /// </summary>
    private static async Task<(string After, long WindowClosed)> AdvanceThenReadRestAsync(List<RuleOptions> rules, TimeSpan advance)
    {
        var clock = new ManualPolicyClock(Start);
        var upstream = Streaming();
        await using PolicyGateway g = await PolicyGateway.StartAsync(upstream.Script, rules, policyClock: clock);
        using RawClient stream = await OpenAliceStreamAsync(g);

        clock.Advance(advance);
        upstream.Resume.SetResult();
        string rest = await ReadStreamAsync(stream);
        return (rest, Ended(g, StreamEndReason.PolicyWindowClosed));
    }

    [Fact]
    public async Task A_stream_with_events_ends_at_the_next_event_after_the_window_closes()
    {
        (string rest, long windowClosed) = await AdvanceThenReadRestAsync(SessionsUntilFreeze, TimeSpan.FromHours(2));

        Assert.DoesNotContain("SECOND-MARK", rest);
        Assert.Equal(1, windowClosed);
    }

    [Fact]
    public async Task A_stream_whose_session_rule_has_no_time_condition_is_untouched_when_another_window_closes()
    {
        (string rest, long windowClosed) = await AdvanceThenReadRestAsync(OnlyDeployUntilFreeze, TimeSpan.FromHours(2));

        Assert.Contains("SECOND-MARK", rest);
        Assert.Equal(0, windowClosed);
    }

    [Fact]
    public async Task A_stream_still_inside_its_window_runs_on()
    {
        // Still inside the window: the heartbeat and the next event decide it again and let it run.
        (string rest, long windowClosed) = await AdvanceThenReadRestAsync(SessionsUntilFreeze, TimeSpan.FromMinutes(30));

        Assert.Contains("SECOND-MARK", rest);
        Assert.Equal(0, windowClosed);
    }
}
