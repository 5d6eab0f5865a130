using System.Buffers;
using FastMcp.Gateway.InFlight;
using FastMcp.Testing;

namespace FastMcp.Gateway.Tests.InFlight;

/// <summary>
/// The in-flight table a cancellation is checked against: a call is found only by its own caller (subject and issuer),
/// upstream, session and id bytes; it leaves the table with its exchange; and tracking a call allocates nothing.
/// </summary>
public sealed class InFlightCallsTests
{
    private static InFlightCall Tracked(InFlightCalls table, string subject, string? issuer, string session, params string[] ids)
    {
        var call = new InFlightCall();
        call.Begin("pay", federated: false, member: 0, subject, issuer, System.Text.Encoding.ASCII.GetBytes(session));
        foreach (string id in ids) call.AddId(new ReadOnlySequence<byte>(System.Text.Encoding.UTF8.GetBytes(id)));
        table.Enter(call);
        return call;
    }

    private static bool Finds(InFlightCalls table, string subject, string? issuer, string session, string id, string scope = "pay", bool federated = false) =>
        table.Find(scope, federated, subject, issuer, System.Text.Encoding.ASCII.GetBytes(session), System.Text.Encoding.UTF8.GetBytes(id)).Found;

    [Fact]
    public void A_call_is_found_only_by_its_own_caller_upstream_session_and_id_bytes()
    {
        var table = new InFlightCalls();
        Tracked(table, "alice", "https://idp-a", "s-1", "1");
        Tracked(table, "alice", "https://idp-a", "", "\"r-2\"", "3");

        Assert.True(Finds(table, "alice", "https://idp-a", "s-1", "1"));
        Assert.True(Finds(table, "alice", "https://idp-a", "", "3"));
        Assert.True(Finds(table, "alice", "https://idp-a", "", "\"r-2\""));
        Assert.False(Finds(table, "bob", "https://idp-a", "s-1", "1"));
        Assert.False(Finds(table, "alice", "https://idp-b", "s-1", "1"));
        Assert.False(Finds(table, "alice", null, "s-1", "1"));
        Assert.False(Finds(table, "alice", "https://idp-a", "s-2", "1"));
        Assert.False(Finds(table, "alice", "https://idp-a", "", "1"));
        Assert.False(Finds(table, "alice", "https://idp-a", "s-1", "\"1\""));
        Assert.False(Finds(table, "alice", "https://idp-a", "s-1", "1.0"));
        Assert.False(Finds(table, "alice", "https://idp-a", "s-1", "1", scope: "mail"));
        Assert.False(Finds(table, "alice", "https://idp-a", "s-1", "1", federated: true));
    }

    [Fact]
    public void A_call_leaves_the_table_and_an_overlong_key_is_never_entered()
    {
        var table = new InFlightCalls();
        InFlightCall first = Tracked(table, "alice", null, "", "1");
        InFlightCall second = Tracked(table, "alice", null, "", "2");
        InFlightCall third = Tracked(table, "alice", null, "", "3");
        table.Leave(second);
        table.Leave(second);
        Assert.Equal(2, table.Count);
        Assert.False(Finds(table, "alice", null, "", "2"));
        Assert.True(Finds(table, "alice", null, "", "1"));
        Assert.True(Finds(table, "alice", null, "", "3"));
        table.Leave(first);
        table.Leave(third);
        Assert.Equal(0, table.Count);

        InFlightCall overlong = Tracked(table, "alice", null, "", new string('9', InFlightCall.MaxKeyBytes + 1));
        Assert.False(overlong.InTable);
        Assert.Equal(0, table.Count);
    }

    [Fact]
    public void Tracking_a_call_allocates_nothing_in_steady_state()
    {
        var table = new InFlightCalls();
        var others = new List<InFlightCall>();
        for (int i = 0; i < 100; i++) others.Add(Tracked(table, "caller-" + i, "https://idp", "session-" + i, i.ToString()));
        var call = new InFlightCall();
        byte[] session = "0123456789abcdef0123456789abcdef"u8.ToArray();
        var id = new ReadOnlySequence<byte>("\"call-42\""u8.ToArray());
        int entered = 0;
        void Once()
        {
            call.Begin("pay", false, 0, "alice", "https://idp", session);
            call.AddId(id);
            table.Enter(call);
            if (call.InTable) entered++;
            table.Leave(call);
        }
        for (int i = 0; i < 1000; i++) Once();
        entered = 0;
        long allocated = ThreadAllocations.Measure(() => { for (int i = 0; i < 10_000; i++) Once(); });

        Assert.Equal(0, allocated);
        Assert.Equal(10_000, entered);
        Assert.Equal(100, table.Count);
    }
}
