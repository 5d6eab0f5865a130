using System.Buffers.Text;

namespace FastMcp.Gateway.Federation;

/// <summary>
/// The server-to-client requests (sampling, elicitation, roots) pending in one federated session. Each member numbers
/// its own requests, so two members can both ask with id 0 at once: the client sees every relayed request under an id
/// the gateway gave it ("fastmcp-fed-&lt;n&gt;", unique in the session), and its answer goes back to the member that
/// asked, with that member's own id. Bounded: past <see cref="MaxPending"/> the oldest pending request is forgotten
/// (an answer to it is then refused as unknown, never sent to a guessed member).
/// </summary>
internal sealed class ServerRequestIds
{
    public const int MaxPending = 1024;
    private static ReadOnlySpan<byte> Prefix => "\"fastmcp-fed-"u8;

    private readonly Dictionary<long, (int Member, byte[] MemberId)> _pending = [];
    private readonly Lock _gate = new();
    private long _next;

    public int Count
    {
        get { lock (_gate) return _pending.Count; }
    }

    /// <summary>Remembers a request of <paramref name="member"/> (its raw JSON id) and writes the id the client sees.</summary>
    public void Issue(int member, ReadOnlySpan<byte> memberId, System.Buffers.IBufferWriter<byte> clientId)
    {
        long n;
        lock (_gate)
        {
            n = ++_next;
            if (_pending.Count >= MaxPending) ForgetOldest();
            _pending[n] = (member, memberId.ToArray());
        }
        Write(n, clientId);
    }

    /// <summary>
    /// The member and member id behind an id the client answers with (a JSON token, quotes included), forgotten as it is
    /// taken: each request is answered once. False for an id the gateway did not give or that was answered already.
    /// </summary>
    public bool TryTake(ReadOnlySpan<byte> clientId, out int member, out byte[] memberId)
    {
        (member, memberId) = (-1, []);
        if (!TryParse(clientId, out long n)) return false;
        lock (_gate)
        {
            if (!_pending.Remove(n, out (int Member, byte[] MemberId) entry)) return false;
            (member, memberId) = entry;
            return true;
        }
    }

    /// <summary>The id the client saw for a request <paramref name="member"/> still has pending (to relay its cancellation); false when none.</summary>
    public bool TryFindIssued(int member, ReadOnlySpan<byte> memberId, System.Buffers.IBufferWriter<byte> clientId)
    {
        long found = 0;
        lock (_gate)
        {
            foreach (KeyValuePair<long, (int Member, byte[] MemberId)> entry in _pending)
            {
                if (entry.Value.Member == member && memberId.SequenceEqual(entry.Value.MemberId))
                {
                    found = entry.Key;
                    break;
                }
            }
        }
        if (found == 0) return false;
        Write(found, clientId);
        return true;
    }

    private void ForgetOldest()
    {
        long oldest = long.MaxValue;
        foreach (long key in _pending.Keys) oldest = Math.Min(oldest, key);
        _pending.Remove(oldest);
    }

    private static void Write(long n, System.Buffers.IBufferWriter<byte> output)
    {
        Span<byte> span = output.GetSpan(Prefix.Length + 21);
        Prefix.CopyTo(span);
        Utf8Formatter.TryFormat(n, span[Prefix.Length..], out int digits);
        span[Prefix.Length + digits] = (byte)'"';
        output.Advance(Prefix.Length + digits + 1);
    }

    private static bool TryParse(ReadOnlySpan<byte> token, out long n)
    {
        n = 0;
        if (!token.StartsWith(Prefix) || token.Length < Prefix.Length + 2 || token[^1] != (byte)'"') return false;
        ReadOnlySpan<byte> digits = token[Prefix.Length..^1];
        return Utf8Parser.TryParse(digits, out n, out int used) && used == digits.Length && n > 0;
    }
}
