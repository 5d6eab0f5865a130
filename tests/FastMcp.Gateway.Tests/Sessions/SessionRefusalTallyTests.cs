using System.Text;
using FastMcp.Gateway.Sessions;
using FastMcp.Identity;

namespace FastMcp.Gateway.Tests.Sessions;

/// <summary>The refusal tally: bounded under a flood of callers, every refusal accounted for, counting without allocating.</summary>
public sealed class SessionRefusalTallyTests
{
    private static Principal Caller(string subject) => new(subject, [], [], null, "https://idp.example", DateTimeOffset.MaxValue);

    private const string Route = "default";

    [Fact]
    public void A_flood_of_callers_stays_within_the_table_and_every_refusal_is_still_counted()
    {
        var tally = new SessionRefusalTally(SessionRefusalTally.FingerprintKey(null));
        for (int i = 0; i < 20_000; i++) tally.Count(SessionRefusal.Unknown, Route, Caller("c" + i), "203.0.113.9", null, Encoding.ASCII.GetBytes("id-" + i));
        List<SessionRefusalSummary> drained = tally.Drain();
        Assert.True(drained.Count <= SessionRefusalTally.Capacity + 2);
        Assert.Equal(20_000, drained.Sum(d => d.Refused));
        Assert.Contains(drained, d => d.Subject is null && d.Refused > 0);
        Assert.Equal(20_000, tally.Total(SessionRefusal.Unknown));
        Assert.Empty(tally.Drain());
    }

    [Fact]
    public void Fingerprints_agree_under_one_key_and_differ_under_another()
    {
        byte[] cardKey = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray();
        var one = new SessionRefusalTally(SessionRefusalTally.FingerprintKey(cardKey));
        var same = new SessionRefusalTally(SessionRefusalTally.FingerprintKey(cardKey));
        var random = new SessionRefusalTally(SessionRefusalTally.FingerprintKey(null));
        Assert.Equal(one.Fingerprint("s-1"u8), same.Fingerprint("s-1"u8));
        Assert.NotEqual(one.Fingerprint("s-1"u8), one.Fingerprint("s-2"u8));
        Assert.NotEqual(one.Fingerprint("s-1"u8), random.Fingerprint("s-1"u8));
    }

    [Fact]
    public void Counting_a_refusal_allocates_nothing()
    {
        var tally = new SessionRefusalTally(SessionRefusalTally.FingerprintKey(null));
        Principal mallory = Caller("mallory");
        var owner = SessionOwner.Of(Caller("alice"));
        byte[] id = "0c6f4d9e2b7a41f3a8e5d1c2b3a49f87"u8.ToArray();
        tally.Count(SessionRefusal.Foreign, Route, mallory, "203.0.113.9", owner, id);
        int windows = 0;
        Assert.Equal(0, ThreadAllocations.Measure(() => { windows++; for (int i = 0; i < 10_000; i++) tally.Count(SessionRefusal.Foreign, Route, mallory, "203.0.113.9", owner, id); }));
        Assert.Equal(1 + 10_000 * windows, Assert.Single(tally.Drain()).Refused);
    }
}
