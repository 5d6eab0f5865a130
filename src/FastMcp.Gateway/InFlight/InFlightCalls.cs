namespace FastMcp.Gateway.InFlight;

/// <summary>
/// Every request the gateway has in flight to an upstream, by caller: what a client's notifications/cancelled is checked
/// against, so that a caller cancels only its own calls (docs/mcp-handling.md, "Cancellations"). Shared by all
/// connections. Calls are kept in intrusive lists, one per stripe: entering and leaving take one stripe's lock each (no
/// global lock, nothing allocated). The stripe is chosen by what a cancellation names along with the id: the session id
/// when the call named one, else the caller's subject; an anonymous caller's call without a session (anonymous callers
/// share one subject) goes to its connection's own stripe, and a cancellation of such a call walks every stripe. Each
/// connection holds at most one <see cref="InFlightCall"/>, so the table is bounded by the connections open.
/// </summary>
internal sealed class InFlightCalls
{
    internal const int StripeCount = 64;

    private sealed class Stripe
    {
        public readonly Lock Gate = new();
        public InFlightCall? Head;
        public int Count;
    }

    private readonly Stripe[] _stripes = new Stripe[StripeCount];

    public InFlightCalls()
    {
        for (int i = 0; i < StripeCount; i++) _stripes[i] = new Stripe();
    }

    /// <summary>Calls in the table now (a sum over the stripes, not a snapshot: for tests).</summary>
    public int Count
    {
        get
        {
            int n = 0;
            foreach (Stripe s in _stripes) n += Volatile.Read(ref s.Count);
            return n;
        }
    }

    /// <summary>Calls in one stripe now (for tests: how the table spreads callers).</summary>
    internal int CountIn(int stripe) => Volatile.Read(ref _stripes[stripe].Count);

    private static int Reduce(int hash) => (int)((uint)hash % StripeCount);

    /// <summary>The stripe a cancellation looks in; -1: every stripe (an anonymous caller's call without a session).</summary>
    private static int StripeOf(string subject, bool anonymous, ReadOnlySpan<byte> sessionId)
    {
        if (!sessionId.IsEmpty)
        {
            HashCode hash = default;
            hash.AddBytes(sessionId);
            return Reduce(hash.ToHashCode());
        }
        return anonymous ? -1 : Reduce(string.GetHashCode(subject, StringComparison.Ordinal));
    }

    /// <summary>The stripe a call is kept in.</summary>
    internal static int StripeOf(InFlightCall call) => StripeOf(call.Subject, call.Anonymous, call.SessionKey) is int s and >= 0 ? s : call.HomeStripe;

    /// <summary>Puts a call keyed by <see cref="InFlightCall.Begin"/> and <see cref="InFlightCall.AddId(System.ReadOnlySpan{byte})"/> in the table.</summary>
    public void Enter(InFlightCall call)
    {
        if (call.InTable || !call.Trackable) return;
        int index = StripeOf(call);
        Stripe stripe = _stripes[index];
        lock (stripe.Gate)
        {
            call.Previous = null;
            call.Next = stripe.Head;
            if (stripe.Head is not null) stripe.Head.Previous = call;
            stripe.Head = call;
            call.Stripe = index;
            stripe.Count++;
        }
    }

    /// <summary>Takes a call out of the table (its answer is complete, or its connection ended); nothing when it is not in it.</summary>
    public void Leave(InFlightCall call)
    {
        int index = call.Stripe;
        if (index < 0) return;
        Stripe stripe = _stripes[index];
        lock (stripe.Gate)
        {
            if (call.Previous is not null) call.Previous.Next = call.Next;
            else stripe.Head = call.Next;
            if (call.Next is not null) call.Next.Previous = call.Previous;
            call.Next = call.Previous = null;
            call.Stripe = -1;
            stripe.Count--;
        }
        // A cancellation waiting for its write looks again, and finds it gone.
        call.WakeWaiters();
    }

    /// <summary>
    /// The call of this caller, on this upstream and session, whose id is <paramref name="id"/> (byte for byte), as it
    /// stands now. <paramref name="cancel"/>: the caller cancels it, so, atomically with the look, a held call is withdrawn
    /// (<see cref="InFlightState.Withdrawn"/>: it will not be forwarded), and one being written gives a task that completes
    /// once it was written (look again then).
    /// </summary>
    public InFlightMatch Find(string scope, bool federated, string subject, string? issuer, bool anonymous, ReadOnlySpan<byte> sessionId, ReadOnlySpan<byte> id,
        bool cancel = false)
    {
        int only = StripeOf(subject, anonymous, sessionId);
        for (int index = only >= 0 ? only : 0; index < StripeCount; index++)
        {
            Stripe stripe = _stripes[index];
            lock (stripe.Gate)
            {
                for (InFlightCall? call = stripe.Head; call is not null; call = call.Next)
                {
                    if (call.Anonymous != anonymous || !call.Matches(scope, federated, subject, issuer, sessionId, id)) continue;
                    InFlightState state = call.State;
                    Task? written = null;
                    if (cancel && state == InFlightState.Held && call.TryWithdraw()) state = InFlightState.Withdrawn;
                    else
                    {
                        // Not held, or its forward began writing it since the first look.
                        state = call.State;
                        if (cancel && state == InFlightState.Forwarding) written = call.WhenWritten();
                    }
                    return new InFlightMatch(true, call.Member, call.Approval, state, call.Upstream, call.AtSessionlessUpstream, written);
                }
            }
            if (only >= 0) break;
        }
        return default;
    }

    /// <summary>
    /// Whether another caller (another subject or issuer) has a call in flight under <paramref name="id"/> (byte for byte)
    /// at <paramref name="upstream"/> without an upstream session, on any route or path: that upstream could not tell the
    /// two apart, so a cancellation of that id could stop the other caller's call. Walks every stripe: only a cancellation
    /// about to be forwarded to a sessionless upstream asks.
    /// </summary>
    public bool OtherCallerHas(string upstream, string subject, string? issuer, ReadOnlySpan<byte> id)
    {
        foreach (Stripe stripe in _stripes)
        {
            lock (stripe.Gate)
            {
                for (InFlightCall? call = stripe.Head; call is not null; call = call.Next)
                {
                    if (!call.AtSessionlessUpstream || call.State == InFlightState.Withdrawn || !string.Equals(call.Upstream, upstream, StringComparison.Ordinal)) continue;
                    if (string.Equals(call.Subject, subject, StringComparison.Ordinal) && string.Equals(call.Issuer, issuer, StringComparison.Ordinal)) continue;
                    if (call.HasId(id)) return true;
                }
            }
        }
        return false;
    }
}

/// <summary>
/// What <see cref="InFlightCalls.Find"/> found: whether a call matched, the member it went to, the approval it waits or
/// waited on, where it stands, the upstream it goes to, whether it goes there without a session, and (a cancellation of a
/// call being written) a task that completes once it was written.
/// </summary>
internal readonly record struct InFlightMatch(bool Found, int Member, Approvals.PendingApproval? Approval, InFlightState State, string? Upstream,
    bool AtSessionlessUpstream, Task? Written);
