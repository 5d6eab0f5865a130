using System.Text;
using FastMcp.Gateway.Sessions;
using FastMcp.Identity;

namespace FastMcp.Gateway.Tests.Sessions;

/// <summary>The session table itself: ids compared byte for byte, per upstream, looked up without allocating.</summary>
public sealed class SessionBindingsTests
{
    private static readonly Principal Alice = new("alice", [], [], null, "https://idp.example", DateTimeOffset.MaxValue);
    private static readonly Principal AliceElsewhere = new("alice", [], [], null, "https://other-idp.example", DateTimeOffset.MaxValue);

    [Fact]
    public void A_session_is_the_callers_at_its_issuer_on_its_upstream_only()
    {
        var table = new SessionBindings(100, forwardUnknown: false);
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
        var table = new SessionBindings(100, forwardUnknown: false);
        for (int i = 0; i < 1_000; i++) table.Bind("a", Encoding.ASCII.GetBytes($"s-{i}"), Alice);
        Assert.InRange(table.Count("a"), 1, 100);
        Assert.Equal(SessionCheck.Owned, table.Check("a", "s-999"u8, Alice));
    }

    [Fact]
    public void Checking_a_session_allocates_nothing()
    {
        var table = new SessionBindings(100, forwardUnknown: false);
        byte[] shortId = "0c6f4d9e2b7a41f3a8e5d1c2b3a49f87"u8.ToArray();
        byte[] longId = Encoding.ASCII.GetBytes(new string('x', 600));
        table.Bind("a", shortId, Alice);
        table.Bind("a", longId, Alice);
        table.Check("a", shortId, Alice);
        table.Check("a", longId, Alice);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10_000; i++)
        {
            table.Check("a", shortId, Alice);
            table.Check("a", longId, AliceElsewhere);
            table.Check("a", "unknown"u8, Alice);
        }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
