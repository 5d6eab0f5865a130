using System.Buffers;

namespace FastMcp.Gateway.InFlight;

/// <summary>
/// The request (or a batch's requests) one client connection has in flight through the gateway, as a cancellation must
/// name it: the upstream (a plain route's name, or a federated path), the caller (subject and issuer), the session id
/// the request named, and the raw JSON-RPC id token of each request, compared byte for byte as Stages/EchoedClientId.cs
/// compares ids. One instance per connection (a connection handles one exchange at a time), reused: its buffers grow to
/// the longest key seen (at most <see cref="MaxKeyBytes"/>) and are kept, so tracking a call allocates nothing in
/// steady state. Its links and key are written only while it is out of the table, and read under its stripe's lock; its
/// <see cref="State"/> changes by compare-and-swap, so a cancellation that withdraws it and the forward that writes it
/// cannot both win.
/// </summary>
internal sealed class InFlightCall
{
    /// <summary>A session id and ids longer than this together are not tracked: a cancellation of such a call is refused.</summary>
    public const int MaxKeyBytes = 4096;

    private byte[] _key = new byte[128];
    private int _sessionLength;
    private int _length;
    private int[] _idEnds = new int[1];
    private int _idCount;
    private bool _overlong;

    // The stripe's list (guarded by its lock); Stripe is -1 while the call is not in the table.
    internal InFlightCall? Next, Previous;
    internal int Stripe = -1;

    private static int s_connections;

    /// <summary>The stripe of this connection's anonymous calls without a session (anonymous callers share one subject).</summary>
    internal readonly int HomeStripe = (int)((uint)Interlocked.Increment(ref s_connections) % InFlightCalls.StripeCount);

    private int _state;
    // Made by a cancellation that waits for the call to be written; completed when it was, or when the call leaves.
    private TaskCompletionSource? _written;

    /// <summary>Whose call it is and where it went.</summary>
    public string Scope { get; private set; } = "";
    public bool Federated { get; private set; }
    public string Subject { get; private set; } = "";
    public string? Issuer { get; private set; }
    public bool Anonymous { get; private set; }

    /// <summary>On a federated path: the member the call went to (its index in the path's members).</summary>
    public int Member { get; private set; }

    /// <summary>The configured name of the upstream the call goes to (a plain route's, or the federated member's).</summary>
    public string Upstream { get; private set; } = "";

    /// <summary>Sent without an upstream session: the upstream can tell it from another caller's call only by its id.</summary>
    public bool AtSessionlessUpstream { get; private set; }

    /// <summary>The hold-mode approval the call waits or waited on (null when it never waited).</summary>
    public Approvals.PendingApproval? Approval { get; private set; }

    public InFlightState State => (InFlightState)Volatile.Read(ref _state);

    public bool InTable => Stripe >= 0;

    /// <summary>The session id part of the key (empty: the call named none).</summary>
    internal ReadOnlySpan<byte> SessionKey => _key.AsSpan(0, _sessionLength);

    /// <summary>
    /// Starts a key (the call must not be in the table): the scope, the caller, the session id the request named and the
    /// upstream it goes to. Held (with <paramref name="approval"/>) until it is forwarded; else already being forwarded.
    /// </summary>
    public void Begin(string scope, bool federated, int member, string subject, string? issuer, ReadOnlySpan<byte> sessionId, string upstream = "",
        bool atSessionlessUpstream = false, bool anonymous = false, Approvals.PendingApproval? approval = null)
    {
        Scope = scope;
        Federated = federated;
        Member = member;
        Subject = subject;
        Issuer = issuer;
        Anonymous = anonymous;
        Upstream = upstream;
        AtSessionlessUpstream = atSessionlessUpstream;
        Approval = approval;
        Volatile.Write(ref _state, (int)(approval is null ? InFlightState.Forwarding : InFlightState.Held));
        _idCount = 0;
        _length = 0;
        _overlong = sessionId.Length > MaxKeyBytes;
        _sessionLength = _overlong ? 0 : sessionId.Length;
        if (!_overlong) Append(sessionId);
    }

    /// <summary>Adds one request's raw id token (string with quotes, or number), as the client sent it.</summary>
    public void AddId(in ReadOnlySequence<byte> id)
    {
        if (_overlong || _length + id.Length > MaxKeyBytes)
        {
            _overlong = true;
            return;
        }
        foreach (ReadOnlyMemory<byte> segment in id) Append(segment.Span);
        AddIdEnd();
    }

    /// <inheritdoc cref="AddId(in ReadOnlySequence{byte})"/>
    public void AddId(ReadOnlySpan<byte> id)
    {
        if (_overlong || _length + id.Length > MaxKeyBytes)
        {
            _overlong = true;
            return;
        }
        Append(id);
        AddIdEnd();
    }

    /// <summary>Something to track: at least one id, and a key within <see cref="MaxKeyBytes"/>.</summary>
    public bool Trackable => !_overlong && _idCount > 0;

    /// <summary>
    /// The forward is about to write the call: from Held it is now Forwarding. False: its caller withdrew it, and it must
    /// not be written. A call not in the table (not tracked) is always written.
    /// </summary>
    public bool TryBeginWriting()
    {
        if (!InTable) return true;
        int was = Interlocked.CompareExchange(ref _state, (int)InFlightState.Forwarding, (int)InFlightState.Held);
        return was != (int)InFlightState.Withdrawn;
    }

    /// <summary>The call was written to the upstream: a cancellation is forwarded from now on (one waiting for this goes).</summary>
    public void Written()
    {
        if (!InTable) return;
        Interlocked.Exchange(ref _state, (int)InFlightState.Forwarded);
        WakeWaiters();
    }

    /// <summary>Under its stripe's lock: a cancellation withdraws the held call. False: it is no longer held.</summary>
    internal bool TryWithdraw() =>
        Interlocked.CompareExchange(ref _state, (int)InFlightState.Withdrawn, (int)InFlightState.Held) == (int)InFlightState.Held;

    /// <summary>
    /// Under its stripe's lock: a task that completes once the call being forwarded was written, or left the table (then
    /// its cancellation looks again). Off the calls' path: only a cancellation that raced its call's write makes one.
    /// </summary>
    internal Task WhenWritten()
    {
        TaskCompletionSource made = new(TaskCreationOptions.RunContinuationsAsynchronously);
        TaskCompletionSource waiter = Interlocked.CompareExchange(ref _written, made, null) ?? made;
        // Written (or withdrawn) between the caller's look at the state and the waiter's install: nobody else wakes it.
        if (State != InFlightState.Forwarding) WakeWaiters();
        return waiter.Task;
    }

    /// <summary>Completes any cancellation waiting for this call (it was written, or it left the table).</summary>
    internal void WakeWaiters() => Interlocked.Exchange(ref _written, null)?.TrySetResult();

    /// <summary>Whether one of the call's ids is <paramref name="id"/>, byte for byte.</summary>
    internal bool HasId(ReadOnlySpan<byte> id)
    {
        int start = _sessionLength;
        for (int i = 0; i < _idCount; i++)
        {
            if (_key.AsSpan(start, _idEnds[i] - start).SequenceEqual(id)) return true;
            start = _idEnds[i];
        }
        return false;
    }

    /// <summary>Whether this is the call a cancellation from this caller, on this upstream and session, names with <paramref name="id"/>.</summary>
    public bool Matches(string scope, bool federated, string subject, string? issuer, ReadOnlySpan<byte> sessionId, ReadOnlySpan<byte> id)
    {
        if (Federated != federated || !string.Equals(Scope, scope, StringComparison.Ordinal) || !string.Equals(Subject, subject, StringComparison.Ordinal)
            || !string.Equals(Issuer, issuer, StringComparison.Ordinal))
            return false;
        return SessionKey.SequenceEqual(sessionId) && HasId(id);
    }

    private void Append(ReadOnlySpan<byte> bytes)
    {
        if (_length + bytes.Length > _key.Length) Array.Resize(ref _key, Math.Min(MaxKeyBytes, Math.Max(_key.Length * 2, _length + bytes.Length)));
        bytes.CopyTo(_key.AsSpan(_length));
        _length += bytes.Length;
    }

    private void AddIdEnd()
    {
        if (_idCount == _idEnds.Length) Array.Resize(ref _idEnds, _idEnds.Length * 2);
        _idEnds[_idCount++] = _length;
    }
}
