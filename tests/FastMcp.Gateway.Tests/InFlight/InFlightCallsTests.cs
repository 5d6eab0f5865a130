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
        table.Find(scope, federated, subject, issuer, anonymous: false, System.Text.Encoding.ASCII.GetBytes(session), System.Text.Encoding.UTF8.GetBytes(id)).Found;

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
        // The measured body may run in more than one window (ThreadAllocations): each counts its own entries.
        Action measured = () => { entered = 0; for (int i = 0; i < 10_000; i++) Once(); };
        long allocated = ThreadAllocations.Measure(measured);

        Assert.Equal(0, allocated);
        Assert.Equal(10_000, entered);
        Assert.Equal(100, table.Count);
    }

    private static readonly byte[] NoSession = [];

    private static InFlightCall Anonymous(InFlightCalls table, string id, string session = "", Approvals.PendingApproval? held = null)
    {
        var call = new InFlightCall();
        call.Begin("pay", false, 0, Identity.Principal.AnonymousSubject, null, System.Text.Encoding.ASCII.GetBytes(session), "pay", session.Length == 0, anonymous: true, held);
        call.AddId(System.Text.Encoding.UTF8.GetBytes(id));
        table.Enter(call);
        return call;
    }

    private static InFlightMatch Cancel(InFlightCalls table, string id, bool anonymous = true, string subject = Identity.Principal.AnonymousSubject) =>
        table.Find("pay", false, subject, null, anonymous, NoSession, System.Text.Encoding.UTF8.GetBytes(id), cancel: true);

    [Fact]
    public void A_cancellation_withdraws_a_held_call_so_its_forward_does_not_write_it()
    {
        var table = new InFlightCalls();
        var approval = new Approvals.PendingApproval("a-1", Identity.Principal.Anonymous, "pay-held", null, Policy.ApprovalMode.Hold, 1, TimeSpan.Zero, ["finance"],
            "tools/call", "pay", "{}", "{}", "sha256:0", DateTime.UtcNow, "127.0.0.1");
        InFlightCall held = Anonymous(table, "1", held: approval);
        Assert.Equal(InFlightState.Held, held.State);

        InFlightMatch match = Cancel(table, "1");

        Assert.Equal(InFlightState.Withdrawn, match.State);
        Assert.Same(approval, match.Approval);
        Assert.False(held.TryBeginWriting());
        // Once its forward began writing it, a held call is no longer withdrawn: the cancellation waits for the write.
        InFlightCall other = Anonymous(table, "2", held: approval);
        Assert.True(other.TryBeginWriting());
        Assert.Equal(InFlightState.Forwarding, Cancel(table, "2").State);
    }

    [Fact]
    public async Task A_cancellation_of_a_call_being_written_waits_until_it_was_written_or_left()
    {
        var table = new InFlightCalls();
        InFlightCall call = Anonymous(table, "1");
        Assert.Equal(InFlightState.Forwarding, call.State);

        InFlightMatch match = Cancel(table, "1");
        Task written = match.Written!;
        Assert.False(written.IsCompleted);
        call.Written();
        await written.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(InFlightState.Forwarded, Cancel(table, "1").State);
        Assert.Null(Cancel(table, "1").Written);

        // A call that leaves unwritten (its forward failed) wakes its waiting cancellation too, which then finds nothing.
        InFlightCall failed = Anonymous(table, "2");
        Task waiting = Cancel(table, "2").Written!;
        table.Leave(failed);
        await waiting.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.False(Cancel(table, "2").Found);
    }

    [Fact]
    public void Anonymous_callers_without_a_session_spread_over_the_stripes_and_cancel_only_anonymous_calls()
    {
        var table = new InFlightCalls();
        var calls = new List<InFlightCall>();
        for (int i = 0; i < InFlightCalls.StripeCount; i++) calls.Add(Anonymous(table, i.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        int used = Enumerable.Range(0, InFlightCalls.StripeCount).Count(s => table.CountIn(s) > 0);
        // One stripe per connection (round robin), not one for all: every stripe holds one of 64 connections' calls.
        Assert.Equal(InFlightCalls.StripeCount, used);

        Assert.True(Cancel(table, "17").Found);
        // An identified caller whose subject is "anonymous" is another caller; so is an anonymous call in a session.
        Assert.False(Cancel(table, "17", anonymous: false).Found);
        Anonymous(table, "99", session: "s-1");
        Assert.False(Cancel(table, "99").Found);
        Assert.True(table.Find("pay", false, Identity.Principal.AnonymousSubject, null, true, "s-1"u8, "99"u8).Found);
    }

    [Fact]
    public void Another_caller_with_the_same_id_at_a_sessionless_upstream_is_seen_whatever_the_route()
    {
        var table = new InFlightCalls();
        var bobs = new InFlightCall();
        bobs.Begin("/mcp/all", federated: true, member: 0, "bob", "https://idp", "fed-session"u8, upstream: "pay", atSessionlessUpstream: true);
        bobs.AddId("1"u8);
        table.Enter(bobs);

        Assert.True(table.OtherCallerHas("pay", "alice", "https://idp", "1"u8));
        Assert.False(table.OtherCallerHas("pay", "bob", "https://idp", "1"u8));
        Assert.True(table.OtherCallerHas("pay", "bob", "https://other-idp", "1"u8));
        Assert.False(table.OtherCallerHas("pay", "alice", "https://idp", "\"1\""u8));
        Assert.False(table.OtherCallerHas("mail", "alice", "https://idp", "1"u8));

        var withSession = new InFlightCall();
        withSession.Begin("pay", false, 0, "carol", "https://idp", "s-9"u8, upstream: "pay", atSessionlessUpstream: false);
        withSession.AddId("2"u8);
        table.Enter(withSession);
        Assert.False(table.OtherCallerHas("pay", "alice", "https://idp", "2"u8));
    }

    [Fact]
    public void Tracking_an_anonymous_call_allocates_nothing_in_steady_state()
    {
        var table = new InFlightCalls();
        var call = new InFlightCall();
        byte[] session = "0123456789abcdef0123456789abcdef"u8.ToArray();
        var id = new ReadOnlySequence<byte>("\"call-42\""u8.ToArray());
        int entered = 0;
        void Once(byte[] sessionId)
        {
            call.Begin("pay", false, 0, Identity.Principal.AnonymousSubject, null, sessionId, "pay", sessionId.Length == 0, anonymous: true);
            call.AddId(id);
            table.Enter(call);
            if (call.InTable) entered++;
            call.TryBeginWriting();
            call.Written();
            table.Leave(call);
        }
        for (int i = 0; i < 1000; i++)
        {
            Once(session);
            Once(NoSession);
        }
        entered = 0;
        long allocated = ThreadAllocations.Measure(() =>
        {
            for (int i = 0; i < 10_000; i++)
            {
                Once(session);
                Once(NoSession);
            }
        });

        Assert.Equal(0, allocated);
        Assert.Equal(20_000, entered);
        Assert.Equal(0, table.Count);
    }
}
