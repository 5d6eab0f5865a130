using System.Text;
using FastMcp.Gateway.Sessions;
using FastMcp.Identity;

namespace FastMcp.Gateway.Tests.Sessions;

/// <summary>The session table itself: ids compared byte for byte, per upstream, looked up without allocating.</summary>
public sealed class SessionBindingsTests
{
    private static readonly Principal Alice = new("alice", [], [], null, "https://idp.example", DateTimeOffset.MaxValue);
    private static readonly Principal Mallory = new("mallory", [], [], null, "https://idp.example", DateTimeOffset.MaxValue);
    private static readonly Principal AliceElsewhere = new("alice", [], [], null, "https://other-idp.example", DateTimeOffset.MaxValue);

    [Fact]
    public void A_session_is_the_callers_at_its_issuer_on_its_upstream_only()
    {
        var table = new SessionBindings(100, 1_000, forwardUnknown: false);
        table.Bind("a", "s-1"u8, Alice);
        Assert.Equal(SessionCheck.Owned, table.Check("a", "s-1"u8, Alice));
        Assert.Equal(SessionCheck.Foreign, table.Check("a", "s-1"u8, AliceElsewhere)); // same subject, another issuer
        Assert.Equal(SessionCheck.Unknown, table.Check("b", "s-1"u8, Alice));          // another upstream's id space
        // Bytes outside ASCII are distinct keys (Latin-1), never folded into one.
        table.Bind("a", [0xFF], Alice);
        Assert.Equal(SessionCheck.Unknown, table.Check("a", [0xFE], Alice));
        table.Forget("a", "s-1"u8);
        Assert.Equal(SessionCheck.Unknown, table.Check("a", "s-1"u8, Alice));
        Assert.Equal(1, table.Count("a"));
    }

    [Fact]
    public void The_table_stays_within_its_bound()
    {
        var table = new SessionBindings(100, 1_000, forwardUnknown: false);
        for (int i = 0; i < 1_000; i++) table.Bind("a", Encoding.ASCII.GetBytes($"s-{i}"), Alice);
        Assert.InRange(table.Count("a"), 1, 100);
        Assert.Equal(SessionCheck.Owned, table.Check("a", "s-999"u8, Alice));
    }

    [Fact]
    public void Checking_a_session_allocates_nothing()
    {
        var table = new SessionBindings(100, 1_000, forwardUnknown: false);
        byte[] shortId = "0c6f4d9e2b7a41f3a8e5d1c2b3a49f87"u8.ToArray();
        byte[] longId = Encoding.ASCII.GetBytes(new string('x', 600));
        table.Bind("a", shortId, Alice);
        table.Bind("a", longId, Alice);
        table.Check("a", shortId, Alice);
        table.Check("a", longId, Alice);
        Assert.Equal(0, ThreadAllocations.Measure(() =>
        {
            for (int i = 0; i < 10_000; i++)
            {
                table.Check("a", shortId, Alice);
                table.Check("a", longId, AliceElsewhere);
                table.Check("a", "unknown"u8, Alice);
            }
        }));
    }

    [Fact]
    public void A_caller_past_its_bound_loses_its_own_least_recently_used_binding_and_nobody_elses()
    {
        var table = new SessionBindings(100, 3, forwardUnknown: false);
        table.Bind("a", "alice-1"u8, Alice);
        for (int i = 0; i < 3; i++) table.Bind("a", Encoding.ASCII.GetBytes($"m-{i}"), Mallory);
        // m-0 was used last: m-1 is mallory's least recently used when she opens a fourth.
        Assert.Equal(SessionCheck.Owned, table.Check("a", "m-0"u8, Mallory));
        table.Bind("a", "m-3"u8, Mallory);
        Assert.Equal(SessionCheck.Unknown, table.Check("a", "m-1"u8, Mallory));
        Assert.Equal(SessionCheck.Owned, table.Check("a", "m-0"u8, Mallory));
        for (int i = 4; i < 500; i++) table.Bind("a", Encoding.ASCII.GetBytes($"m-{i}"), Mallory);
        Assert.Equal(3, table.CountOf("a", Mallory));
        Assert.Equal(4, table.Count("a"));
        Assert.Equal(SessionCheck.Owned, table.Check("a", "alice-1"u8, Alice));
        Assert.Equal(SessionCheck.Owned, table.Check("a", "m-499"u8, Mallory));
        Assert.Equal(497, table.EvictedForCaller);
        Assert.Equal(0, table.EvictedForUpstream);
        // Ending or rebinding takes a binding off its caller's count.
        table.Forget("a", "m-499"u8);
        table.Bind("a", "m-498"u8, Alice);
        Assert.Equal(1, table.CountOf("a", Mallory));
        Assert.Equal(2, table.CountOf("a", Alice));
        Assert.Equal(3, table.Count("a"));
    }

    private static Principal Caller(string subject) => new(subject, [], [], null, "https://idp.example", DateTimeOffset.MaxValue);

    [Fact]
    public void A_full_table_takes_from_the_heaviest_callers_and_a_light_callers_sessions_survive()
    {
        var table = new SessionBindings(100, 1_000, forwardUnknown: false);
        // Alice's sessions are the oldest in the table and never used again: least recently used of all.
        for (int i = 0; i < 3; i++) table.Bind("a", Encoding.ASCII.GetBytes($"alice-{i}"), Alice);
        for (int c = 0; c < 5; c++)
        {
            Principal heavy = Caller($"heavy-{c}");
            for (int i = 0; i < 60; i++) table.Bind("a", Encoding.ASCII.GetBytes($"h{c}-{i}"), heavy);
        }
        for (int i = 0; i < 3; i++) Assert.Equal(SessionCheck.Owned, table.Check("a", Encoding.ASCII.GetBytes($"alice-{i}"), Alice));
        Assert.Equal(3, table.CountOf("a", Alice));
        Assert.Equal(100, table.Count("a"));
        Assert.Equal(5 * 60 + 3 - 100, table.EvictedForUpstream);
        Assert.Equal(0, table.EvictedForCaller);
    }

    [Fact]
    public void A_full_table_trims_its_heavy_callers_evenly_each_losing_its_own_least_recently_used()
    {
        var table = new SessionBindings(100, 1_000, forwardUnknown: false);
        // One after another: the first callers are the heaviest (and the least recently used) when the table fills.
        for (int c = 0; c < 4; c++)
        {
            Principal heavy = Caller($"heavy-{c}");
            for (int i = 0; i < 40; i++) table.Bind("a", Encoding.ASCII.GetBytes($"h{c}-{i}"), heavy);
        }
        Assert.Equal(100, table.Count("a"));
        for (int c = 0; c < 4; c++)
        {
            Principal heavy = Caller($"heavy-{c}");
            Assert.Equal(25, table.CountOf("a", heavy));
            // Each kept its 25 most recent.
            Assert.Equal(SessionCheck.Unknown, table.Check("a", Encoding.ASCII.GetBytes($"h{c}-14"), heavy));
            Assert.Equal(SessionCheck.Owned, table.Check("a", Encoding.ASCII.GetBytes($"h{c}-15"), heavy));
            Assert.Equal(SessionCheck.Owned, table.Check("a", Encoding.ASCII.GetBytes($"h{c}-39"), heavy));
        }
        Assert.Equal(60, table.EvictedForUpstream);
    }

    [Fact]
    public void A_light_caller_loses_sessions_only_once_nobody_holds_more_than_it()
    {
        var table = new SessionBindings(100, 1_000, forwardUnknown: false);
        for (int i = 0; i < 2; i++) table.Bind("a", Encoding.ASCII.GetBytes($"alice-{i}"), Alice);
        // 98 callers of one session each fill the table with alice: everyone holds one or two.
        for (int c = 0; c < 98; c++) table.Bind("a", Encoding.ASCII.GetBytes($"one-{c}"), Caller($"one-{c}"));
        // Alice is now the heaviest holder: the next session takes her least recently used, not a one-session caller's.
        Assert.Equal(SessionCheck.Owned, table.Check("a", "alice-0"u8, Alice));
        table.Bind("a", "one-more"u8, Caller("one-more"));
        Assert.Equal(1, table.CountOf("a", Alice));
        Assert.Equal(SessionCheck.Unknown, table.Check("a", "alice-1"u8, Alice));
        Assert.Equal(SessionCheck.Owned, table.Check("a", "alice-0"u8, Alice));
        // Now all hold one: the next takes someone else's, never the session it was just issued.
        table.Bind("a", "another"u8, Caller("another"));
        Assert.Equal(SessionCheck.Owned, table.Check("a", "another"u8, Caller("another")));
        Assert.Equal(100, table.Count("a"));
        Assert.Equal(2, table.EvictedForUpstream);
    }

    [Fact]
    public void Binding_into_a_full_table_copies_nothing_of_the_table()
    {
        // A full table finds whom to evict from the callers it keeps by count, not by copying and sorting every
        // binding under the lock: binding one session allocates about that session, whatever the table holds.
        var table = new SessionBindings(10_000, 1_000, forwardUnknown: false);
        for (int c = 0; c < 100; c++)
        {
            Principal heavy = Caller($"heavy-{c}");
            for (int i = 0; i < 100; i++) table.Bind("a", Encoding.ASCII.GetBytes($"h{c}-{i}"), heavy);
        }
        Principal newcomer = Caller("newcomer");
        // A new id for every window, a window a collection disturbed included.
        byte[][] ids = new byte[200 * ThreadAllocations.DefaultWindows][];
        for (int i = 0; i < ids.Length; i++) ids[i] = Encoding.ASCII.GetBytes($"n-{i}");
        int bound = 0;
        Action bind = () => table.Bind("a", ids[bound++], newcomer);
        long most = 0;
        for (int i = 0; i < 200; i++)
        {
            long allocated = ThreadAllocations.Measure(bind);
            // The first evictions also pay the runtime's one-time costs on this thread (a comparer made on first use).
            if (i >= 10) most = Math.Max(most, allocated);
        }
        // The binding, its key, a dictionary node, now and then the caller's list doubling: a few KB at most.
        Assert.InRange(most, 1, 4_096);
        Assert.Equal(10_000, table.Count("a"));
        Assert.Equal(bound, table.EvictedForUpstream);
    }

    [Fact]
    public void An_unknown_id_is_bound_to_its_first_caller_only()
    {
        var table = new SessionBindings(100, 1_000, forwardUnknown: true);
        Assert.Equal(SessionCheck.Owned, table.BindIfUnbound("a", "x"u8, Alice, out SessionOwner? owner));
        Assert.Null(owner);
        Assert.Equal(SessionCheck.Foreign, table.BindIfUnbound("a", "x"u8, Mallory, out owner));
        Assert.Equal("alice", owner!.Subject);
        Assert.Equal(SessionCheck.Owned, table.BindIfUnbound("a", "x"u8, Alice, out _));
        Assert.Equal(1, table.Count("a"));
    }

    [Fact]
    public void Bindings_forgotten_past_a_bound_are_handed_on_to_be_ended_and_ended_or_rebound_ones_are_not()
    {
        var ended = new List<(string Upstream, string Id)>();
        var table = new SessionBindings(100, 2, forwardUnknown: false, endForgotten: (upstream, id) => ended.Add((upstream, id)));
        table.Bind("a", "s-1"u8, Alice);
        table.Bind("a", "s-2"u8, Alice);
        table.Forget("a", "s-2"u8);          // the owner's DELETE ended it at the upstream already
        table.Bind("a", "s-1"u8, Mallory);   // issued again: a live session, now mallory's
        Assert.Empty(ended);
        table.Bind("b", "s-3"u8, Alice);
        table.Bind("b", "s-4"u8, Alice);
        table.Bind("b", "s-5"u8, Alice);     // alice's third on b: her oldest there goes
        Assert.Equal([("b", "s-3")], ended);
    }

    [Fact]
    public void With_forward_no_forgotten_binding_is_ended_another_replica_may_hold_it()
    {
        var ended = new List<(string Upstream, string Id)>();
        var table = new SessionBindings(100, 2, forwardUnknown: true, endForgotten: (upstream, id) => ended.Add((upstream, id)));
        for (int i = 0; i < 5; i++) table.Bind("a", Encoding.ASCII.GetBytes($"s-{i}"), Alice);
        Assert.Equal(2, table.CountOf("a", Alice));
        Assert.Empty(ended);
    }
}
