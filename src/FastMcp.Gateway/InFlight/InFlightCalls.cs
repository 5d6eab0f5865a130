namespace FastMcp.Gateway.InFlight;

/// <summary>
/// Every request the gateway has in flight to an upstream, by caller: what a client's notifications/cancelled is checked
/// against, so that a caller cancels only its own calls (docs/mcp-handling.md, "Cancellations"). Shared by all
/// connections. Calls are kept in intrusive lists, one per stripe, the stripe chosen by the caller's subject: entering
/// and leaving take one stripe's lock each (no global lock, nothing allocated), and a lookup walks only its stripe. Each
/// connection holds at most one <see cref="InFlightCall"/>, so the table is bounded by the connections open.
/// </summary>
internal sealed class InFlightCalls
{
    private const int StripeCount = 64;

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

    private static int StripeOf(string subject) => (int)((uint)string.GetHashCode(subject, StringComparison.Ordinal) % StripeCount);

    /// <summary>Puts a call keyed by <see cref="InFlightCall.Begin"/> and <see cref="InFlightCall.AddId(System.ReadOnlySpan{byte})"/> in the table.</summary>
    public void Enter(InFlightCall call)
    {
        if (call.InTable || !call.Trackable) return;
        int index = StripeOf(call.Subject);
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
    }

    /// <summary>
    /// The call of this caller, on this upstream and session, whose id is <paramref name="id"/> (byte for byte), as it
    /// stands now: found, the member it went to, and the approval it waits on.
    /// </summary>
    public InFlightMatch Find(string scope, bool federated, string subject, string? issuer, ReadOnlySpan<byte> sessionId, ReadOnlySpan<byte> id)
    {
        Stripe stripe = _stripes[StripeOf(subject)];
        lock (stripe.Gate)
        {
            for (InFlightCall? call = stripe.Head; call is not null; call = call.Next)
            {
                if (!call.Matches(scope, federated, subject, issuer, sessionId, id)) continue;
                return new InFlightMatch(true, call.Member, call.Held);
            }
        }
        return default;
    }
}

/// <summary>What <see cref="InFlightCalls.Find"/> found: whether a call matched, the member it went to, the approval it waits on.</summary>
internal readonly record struct InFlightMatch(bool Found, int Member, Approvals.PendingApproval? Held);
