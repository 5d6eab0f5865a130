using System.Globalization;
using System.Text;
using FastMcp.Identity;
using static FastMcp.Policy.Tests.Support;

namespace FastMcp.Policy.Tests;

/// <summary>"time": a rule applies only inside a weekly window on a zone's wall clock and/or between two instants.</summary>
public sealed class TimeConditionTests
{
    private static readonly Principal Alice = User("alice");

    private static DateTime Utc(string instant) =>
        DateTime.Parse(instant, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal);

    private static string? RuleAt(PolicyEngine engine, string instant) =>
        engine.Decide(new PolicyRequest(Alice, "tools/call"u8, "refund"u8, default) { At = Utc(instant) }).Rule?.Name;

    private static PolicyEngine Window(TimeConditionOptions time) =>
        Compile(Rule("window", "allow", r => { r.Names = ["refund"]; r.Time = time; }));

    private static readonly TimeConditionOptions BerlinBusinessHours = new()
    {
        TimeZone = "Europe/Berlin", Days = ["mon", "tue", "wed", "thu", "fri"], From = "08:00", To = "18:00",
    };

    [Theory]
    [InlineData("2026-12-07T07:00:00Z", true)]   // Monday 08:00 CET: the window opens (inclusive)
    [InlineData("2026-12-07T06:59:59Z", false)]  // 07:59:59 CET
    [InlineData("2026-12-07T16:59:59Z", true)]
    [InlineData("2026-12-07T17:00:00Z", false)]  // 18:00 CET: closed (exclusive)
    [InlineData("2026-12-11T12:00:00Z", true)]   // Friday
    [InlineData("2026-12-12T12:00:00Z", false)]  // Saturday
    [InlineData("2026-12-13T12:00:00Z", false)]  // Sunday
    [InlineData("2026-07-06T06:00:00Z", true)]   // Monday 08:00 CEST: in summer the window follows the wall clock
    [InlineData("2026-07-06T06:59:59Z", true)]
    [InlineData("2026-07-06T05:59:59Z", false)]
    [InlineData("2026-07-06T16:00:00Z", false)]  // 18:00 CEST
    public void Business_days_and_hours_are_read_on_the_zones_wall_clock(string instant, bool inside) =>
        Assert.Equal(inside ? "window" : null, RuleAt(Window(BerlinBusinessHours), instant));

    [Theory]
    [InlineData("2026-12-11T22:00:00Z", true)]   // Friday 22:00: the Friday window opens
    [InlineData("2026-12-12T05:59:59Z", true)]   // Saturday morning: still the window that opened on Friday
    [InlineData("2026-12-12T06:00:00Z", false)]
    [InlineData("2026-12-12T22:00:00Z", false)]  // Saturday's window: not listed
    [InlineData("2026-12-11T05:00:00Z", false)]  // Friday morning: Thursday's window
    [InlineData("2026-12-11T21:59:59Z", false)]
    public void A_window_past_midnight_belongs_to_the_day_it_opens(string instant, bool inside) =>
        Assert.Equal(inside ? "window" : null, RuleAt(Window(new() { TimeZone = "UTC", Days = ["fri"], From = "22:00", To = "06:00" }), instant));

    [Fact]
    public void Days_alone_cover_the_whole_local_day()
    {
        PolicyEngine engine = Window(new() { TimeZone = "Asia/Tokyo", Days = ["sat", "sun"] });
        Assert.Equal("window", RuleAt(engine, "2026-12-11T15:00:00Z"));  // Saturday 00:00 in Tokyo, still Friday in UTC
        Assert.Null(RuleAt(engine, "2026-12-11T14:59:59Z"));
        Assert.Equal("window", RuleAt(engine, "2026-12-13T14:59:59Z"));
        Assert.Null(RuleAt(engine, "2026-12-13T15:00:00Z"));               // Monday in Tokyo
    }

    [Fact]
    public void On_dst_days_the_window_follows_the_wall_clock_through_the_gap_and_the_repeated_hour()
    {
        PolicyEngine engine = Window(new() { TimeZone = "Europe/Berlin", From = "02:00", To = "03:00" });
        // 2026-03-29: 02:00 CET jumps to 03:00 CEST; no wall-clock instant is in 02:00-03:00.
        Assert.Null(RuleAt(engine, "2026-03-29T00:59:59Z"));
        Assert.Null(RuleAt(engine, "2026-03-29T01:00:00Z"));
        // 2026-10-25: 03:00 CEST falls back to 02:00 CET; 02:00-03:00 happens twice and both are inside.
        Assert.Equal("window", RuleAt(engine, "2026-10-25T00:30:00Z"));
        Assert.Equal("window", RuleAt(engine, "2026-10-25T01:30:00Z"));
        Assert.Null(RuleAt(engine, "2026-10-25T02:00:00Z"));
        // A day window is as long as the local day: 23 hours on the spring day.
        PolicyEngine sunday = Window(new() { TimeZone = "Europe/Berlin", Days = ["sun"] });
        Assert.Equal("window", RuleAt(sunday, "2026-03-28T23:00:00Z"));
        Assert.Equal("window", RuleAt(sunday, "2026-03-29T21:59:59Z"));
        Assert.Null(RuleAt(sunday, "2026-03-29T22:00:00Z"));
    }

    [Fact]
    public void A_change_freeze_between_two_instants_denies_and_lets_the_rest_through_outside_it()
    {
        PolicyEngine engine = Compile(
            Rule("freeze", "deny", r => r.Time = new() { NotBefore = "2026-12-20T00:00:00+01:00", NotAfter = "2027-01-04T00:00:00Z" }),
            Rule("refunds", "allow", r => r.Names = ["refund"]));
        Assert.Equal("refunds", RuleAt(engine, "2026-12-19T22:59:59Z"));
        Assert.Equal("freeze", RuleAt(engine, "2026-12-19T23:00:00Z"));     // notBefore is inclusive
        Assert.Equal("freeze", RuleAt(engine, "2027-01-03T23:59:59Z"));
        Assert.Equal("refunds", RuleAt(engine, "2027-01-04T00:00:00Z"));    // notAfter is exclusive
    }

    [Fact]
    public void Bounds_and_a_weekly_window_must_both_hold()
    {
        PolicyEngine engine = Window(new() { TimeZone = "UTC", From = "08:00", To = "18:00", NotBefore = "2026-12-08T00:00:00Z" });
        Assert.Null(RuleAt(engine, "2026-12-07T12:00:00Z"));
        Assert.Equal("window", RuleAt(engine, "2026-12-08T12:00:00Z"));
        Assert.Null(RuleAt(engine, "2026-12-08T19:00:00Z"));
    }

    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }

    [Fact]
    public void Without_an_instant_the_engine_decides_by_its_clock_and_list_filtering_too()
    {
        var options = new PolicyOptions { Rules = [Rule("window", "allow", r => { r.Names = ["refund"]; r.Time = BerlinBusinessHours; })] };
        PolicyEngine monday = PolicyEngine.Compile(options, new FixedClock(new DateTimeOffset(2026, 12, 7, 9, 0, 0, TimeSpan.Zero)));
        PolicyEngine sunday = PolicyEngine.Compile(options, new FixedClock(new DateTimeOffset(2026, 12, 6, 9, 0, 0, TimeSpan.Zero)));
        var request = new PolicyRequest(Alice, "tools/call"u8, "refund"u8, default);
        Assert.Equal(PolicyAction.Allow, monday.Decide(request).Action);
        Assert.Equal(PolicyAction.Deny, sunday.Decide(request).Action);
        byte[] method = Encoding.UTF8.GetBytes("tools/call"), name = Encoding.UTF8.GetBytes("refund");
        Assert.True(monday.IsVisible(Alice, method, name));
        Assert.False(sunday.IsVisible(Alice, method, name));
    }

    [Fact]
    public void Server_request_rules_decide_time_by_the_same_clock()
    {
        var options = new PolicyOptions
        {
            Rules = [Rule("all", "allow")],
            ServerRequests = new ServerRequestPolicyOptions
            {
                DefaultAction = "deny",
                Rules = [Rule("sampling-in-hours", "allow", r => { r.Methods = ["sampling/createMessage"]; r.Time = BerlinBusinessHours; })],
            },
        };
        PolicyEngine monday = PolicyEngine.Compile(options, new FixedClock(new DateTimeOffset(2026, 12, 7, 9, 0, 0, TimeSpan.Zero)));
        PolicyEngine night = PolicyEngine.Compile(options, new FixedClock(new DateTimeOffset(2026, 12, 7, 22, 0, 0, TimeSpan.Zero)));
        Assert.Equal(PolicyAction.Allow, monday.ServerRequests.Decide(Alice, "sampling/createMessage"u8, "{}"u8, "default").Action);
        Assert.Equal(PolicyAction.Deny, night.ServerRequests.Decide(Alice, "sampling/createMessage"u8, "{}"u8, "default").Action);
    }

    [Theory]
    [InlineData("Mars/Olympus_Mons", null, "08:00", "18:00", null, null, "time.timeZone")]
    [InlineData(null, null, "08:00", "18:00", null, null, "time.timeZone")]
    [InlineData("UTC", "mon,funday", null, null, null, null, "time.days[1]")]
    [InlineData("UTC", "Mon", null, null, null, null, "time.days[0]")]
    [InlineData("UTC", null, "08:00", null, null, null, "time.to")]
    [InlineData("UTC", null, null, "18:00", null, null, "time.from")]
    [InlineData("UTC", null, "8:00", "18:00", null, null, "time.from")]
    [InlineData("UTC", null, "08:00", "18:60", null, null, "time.to")]
    [InlineData("UTC", null, "24:00", "06:00", null, null, "time.from")]
    [InlineData("UTC", null, "08:00", "08:00", null, null, "time.to")]
    [InlineData(null, null, null, null, "2026-12-20T00:00:00", null, "time.notBefore")]
    [InlineData(null, null, null, null, "2026-12-20", null, "time.notBefore")]
    [InlineData(null, null, null, null, null, "next monday", "time.notAfter")]
    [InlineData(null, null, null, null, "2027-01-04T00:00:00Z", "2026-12-20T00:00:00Z", "time.notAfter")]
    [InlineData("UTC", null, null, null, "2026-12-20T00:00:00Z", null, "time.timeZone")]
    [InlineData(null, null, null, null, null, null, "time")]
    public void An_invalid_time_condition_is_refused_naming_the_field(string? zone, string? days, string? from, string? to, string? notBefore, string? notAfter, string field)
    {
        var time = new TimeConditionOptions { TimeZone = zone, Days = days?.Split(',').ToList(), From = from, To = to, NotBefore = notBefore, NotAfter = notAfter };
        var ex = Assert.Throws<PolicyException>(() => Window(time));
        Assert.Equal("window", ex.RuleName);
        Assert.Equal(field, ex.Field);
        Assert.Contains($"'{field}'", ex.Message);
    }

    [Fact]
    public void To_may_be_the_end_of_the_day()
    {
        PolicyEngine engine = Window(new() { TimeZone = "UTC", From = "18:00", To = "24:00" });
        Assert.Equal("window", RuleAt(engine, "2026-12-07T23:59:59Z"));
        Assert.Null(RuleAt(engine, "2026-12-08T00:00:00Z"));
    }
}
