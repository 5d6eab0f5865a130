using FastMcp.Gateway.Federation;
using FastMcp.Gateway.Sessions;

namespace FastMcp.Gateway.Tests.Sessions;

/// <summary>
/// The session table of one federated path: bounded per caller (sessions.maxPerCaller) and per path, a full path
/// trimmed from its heaviest holders, as plain routes' bindings are (SessionBindingsTests).
/// </summary>
public sealed class FederationSessionsTests
{
    private const string Idp = "https://idp.example";

    private static FederationSession? Find(FederationSessions table, FederationSession session, string subject) =>
        table.Find(session.Id, subject, Idp, out _);

    private static bool Held(FederationSessions table, FederationSession session) => Find(table, session, session.Owner.Subject) is not null;

    [Fact]
    public void A_caller_past_its_bound_loses_its_own_least_recently_used_session_and_nobody_elses()
    {
        var table = new FederationSessions(100, 3, members: 2);
        FederationSession alices = table.Open("alice", Idp);
        var mallorys = new List<FederationSession>();
        for (int i = 0; i < 3; i++) mallorys.Add(table.Open("mallory", Idp));
        // m-0 was used last: m-1 is mallory's least recently used when she opens a fourth.
        Assert.True(Held(table, mallorys[0]));
        mallorys.Add(table.Open("mallory", Idp));
        Assert.False(Held(table, mallorys[1]));
        Assert.True(Held(table, mallorys[0]));
        for (int i = 4; i < 500; i++) mallorys.Add(table.Open("mallory", Idp));

        Assert.Equal(3, table.CountOf("mallory", Idp));
        Assert.Equal(4, table.Count);
        Assert.True(Held(table, alices));
        Assert.True(Held(table, mallorys[^1]));
        Assert.False(Held(table, mallorys[^4]));
        Assert.Equal(497, table.EvictedForCaller);
        Assert.Equal(0, table.EvictedForPath);
    }

    [Fact]
    public void A_quiet_callers_sessions_survive_a_path_filled_by_heavier_callers()
    {
        var table = new FederationSessions(100, 1_000, members: 2);
        // Alice's sessions are the oldest on the path and never used again: least recently used of all.
        var alices = new List<FederationSession>();
        for (int i = 0; i < 3; i++) alices.Add(table.Open("alice", Idp));
        var heavies = new List<List<FederationSession>>();
        for (int c = 0; c < 5; c++)
        {
            var opened = new List<FederationSession>();
            for (int i = 0; i < 60; i++) opened.Add(table.Open($"heavy-{c}", Idp));
            heavies.Add(opened);
        }

        foreach (FederationSession s in alices) Assert.True(Held(table, s));
        Assert.Equal(3, table.CountOf("alice", Idp));
        Assert.Equal(100, table.Count);
        Assert.Equal(5 * 60 + 3 - 100, table.EvictedForPath);
        Assert.Equal(0, table.EvictedForCaller);
        // The heavy callers came down level with each other, each keeping its most recent.
        for (int c = 0; c < 5; c++)
        {
            Assert.InRange(table.CountOf($"heavy-{c}", Idp), 19, 20);
            Assert.False(Held(table, heavies[c][0]));
            Assert.True(Held(table, heavies[c][^1]));
        }
    }

    [Fact]
    public void A_full_path_takes_from_the_heaviest_holder_not_the_least_recently_used_session_of_all()
    {
        var table = new FederationSessions(100, 1_000, members: 2);
        FederationSession first = table.Open("alice", Idp), second = table.Open("alice", Idp);
        var ones = new List<FederationSession>();
        for (int c = 0; c < 98; c++) ones.Add(table.Open($"one-{c}", Idp));
        // Alice holds two, everyone else one: the next session takes her least recently used (second, after first is used).
        Assert.True(Held(table, first));
        FederationSession more = table.Open("one-more", Idp);
        Assert.False(Held(table, second));
        Assert.True(Held(table, first));
        foreach (FederationSession s in ones) Assert.True(Held(table, s));
        // Now all hold one: the next takes someone else's, never the session it just opened.
        FederationSession another = table.Open("another", Idp);
        Assert.True(Held(table, another));
        Assert.True(Held(table, more));
        Assert.Equal(100, table.Count);
        Assert.Equal(2, table.EvictedForPath);
    }

    [Fact]
    public void Find_reports_a_foreign_owner_and_counts_as_use_and_Remove_keeps_the_counts()
    {
        var table = new FederationSessions(100, 2, members: 2);
        FederationSession a1 = table.Open("alice", Idp), a2 = table.Open("alice", Idp);

        // Another caller (or alice at another issuer) gets nothing, and learns whose it is only for the refusal's record.
        Assert.Null(table.Find(a1.Id, "bob", Idp, out SessionOwner? owner));
        Assert.Equal("alice", owner!.Subject);
        Assert.Null(table.Find(a1.Id, "alice", "https://other-idp.example", out owner));
        Assert.Equal(Idp, owner!.Issuer);
        Assert.Null(table.Find("0123", "alice", Idp, out owner));
        Assert.Null(owner);

        // Found by its owner it counts as used: a2 is now alice's least recently used and goes when she opens a third.
        Assert.Same(a1, table.Find(a1.Id, "alice", Idp, out owner));
        Assert.Null(owner);
        FederationSession a3 = table.Open("alice", Idp);
        Assert.False(Held(table, a2));
        Assert.Equal(2, table.CountOf("alice", Idp));

        // Removing an evicted session changes nothing; removing a held one frees its place for its caller.
        Assert.False(table.Remove(a2));
        Assert.Equal(2, table.Count);
        Assert.True(table.Remove(a1));
        Assert.False(table.Remove(a1));
        Assert.False(Held(table, a1));
        Assert.Equal(1, table.CountOf("alice", Idp));
        FederationSession a4 = table.Open("alice", Idp);
        Assert.True(Held(table, a3));
        Assert.True(Held(table, a4));
        Assert.Equal(1, table.EvictedForCaller);

        // Emptied and opened again, the caller is counted afresh.
        Assert.True(table.Remove(a3));
        Assert.True(table.Remove(a4));
        Assert.Equal(0, table.Count);
        Assert.Equal(0, table.CountOf("alice", Idp));
        FederationSession a5 = table.Open("alice", Idp);
        Assert.True(Held(table, a5));
        Assert.Equal(1, table.Count);
        Assert.Equal(1, table.CountOf("alice", Idp));
    }

    [Fact]
    public void Opening_on_a_full_path_costs_about_the_session_not_the_table()
    {
        // A full path finds whom to evict from the callers it keeps by count: what opening one session allocates is
        // that session, whatever the path holds.
        var table = new FederationSessions(10_000, 1_000, members: 2);
        for (int c = 0; c < 100; c++)
        {
            for (int i = 0; i < 100; i++) table.Open($"heavy-{c}", Idp);
        }
        long most = 0;
        int opened = 0; // a window a collection disturbed opens once more
        Action open = () => { table.Open("newcomer", Idp); opened++; };
        for (int i = 0; i < 200; i++) most = Math.Max(most, ThreadAllocations.Measure(open));
        // The session (its id, member arrays, resource maps), its binding, a dictionary entry, now and then the
        // caller's list doubling: a few KB at most.
        Assert.InRange(most, 1, 4_096);
        Assert.Equal(10_000, table.Count);
        Assert.Equal(opened, table.EvictedForPath);
    }
}
