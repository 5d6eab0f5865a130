using System.Buffers;

namespace FastMcp.Gateway.InFlight;

/// <summary>
/// The request (or a batch's requests) one client connection has in flight through the gateway, as a cancellation must
/// name it: the upstream (a plain route's name, or a federated path), the caller (subject and issuer), the session id
/// the request named, and the raw JSON-RPC id token of each request, compared byte for byte as Stages/EchoedClientId.cs
/// compares ids. One instance per connection (a connection handles one exchange at a time), reused: its buffers grow to
/// the longest key seen (at most <see cref="MaxKeyBytes"/>) and are kept, so tracking a call allocates nothing in
/// steady state. Its links and key are written only while it is out of the table, and read under its stripe's lock.
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

    /// <summary>Whose call it is and where it went.</summary>
    public string Scope { get; private set; } = "";
    public bool Federated { get; private set; }
    public string Subject { get; private set; } = "";
    public string? Issuer { get; private set; }

    /// <summary>On a federated path: the member the call went to (its index in the path's members).</summary>
    public int Member { get; private set; }

    /// <summary>The hold-mode approval the call waits on (null once forwarded, or when it never waited).</summary>
    public volatile Approvals.PendingApproval? Held;

    public bool InTable => Stripe >= 0;

    /// <summary>Starts a key (the call must not be in the table): the scope, the caller and the session id the request named.</summary>
    public void Begin(string scope, bool federated, int member, string subject, string? issuer, ReadOnlySpan<byte> sessionId)
    {
        Scope = scope;
        Federated = federated;
        Member = member;
        Subject = subject;
        Issuer = issuer;
        Held = null;
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

    /// <summary>Whether this is the call a cancellation from this caller, on this upstream and session, names with <paramref name="id"/>.</summary>
    public bool Matches(string scope, bool federated, string subject, string? issuer, ReadOnlySpan<byte> sessionId, ReadOnlySpan<byte> id)
    {
        if (Federated != federated || !string.Equals(Scope, scope, StringComparison.Ordinal) || !string.Equals(Subject, subject, StringComparison.Ordinal)
            || !string.Equals(Issuer, issuer, StringComparison.Ordinal))
            return false;
        if (!_key.AsSpan(0, _sessionLength).SequenceEqual(sessionId)) return false;
        int start = _sessionLength;
        for (int i = 0; i < _idCount; i++)
        {
            if (_key.AsSpan(start, _idEnds[i] - start).SequenceEqual(id)) return true;
            start = _idEnds[i];
        }
        return false;
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
