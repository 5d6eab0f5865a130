namespace FastMcp.Gateway.Transport;

/// <summary>
/// Client connection slots: limits.maxConnections in all, of which limits.reservedAuthenticatedConnections only a
/// connection that has presented a valid token may hold. Every connection starts unauthenticated; past the
/// unauthenticated share it is admitted on the reserve, where its first request must authenticate or the
/// connection is answered 503 and closed. A connection still waiting on the reserve (it has not presented a token yet)
/// gives its slot up to a newcomer when every slot is taken, so idle sockets cannot hold the reserve either: a flood
/// of sockets without tokens keeps at most the shared part.
/// </summary>
internal sealed class ConnectionSlots(int maxConnections, int reservedAuthenticated)
{
    public enum Admission : byte
    {
        /// <summary>Over limits.maxConnections: answer 503 and close, then <see cref="Release"/>.</summary>
        Refused,
        /// <summary>Within the share any connection may use.</summary>
        Shared,
        /// <summary>On the reserve: its first request must carry a valid token.</summary>
        Reserve,
    }

    private readonly int _unauthenticatedMax = maxConnections - reservedAuthenticated;
    private int _open, _unauthenticated;

    public int Open => Volatile.Read(ref _open);

    /// <summary>Counts a new connection (an unauthenticated one, until <see cref="Authenticated"/>).</summary>
    public Admission Admit()
    {
        if (Interlocked.Increment(ref _open) > maxConnections) return Admission.Refused;
        return Interlocked.Increment(ref _unauthenticated) > _unauthenticatedMax ? Admission.Reserve : Admission.Shared;
    }

    /// <summary>
    /// A newcomer over the limit takes the slot of a connection evicted from the reserve (which releases its own
    /// slot as it closes, so the count is over the limit by one only until then). It goes on the reserve in turn.
    /// </summary>
    public Admission AdmitInPlaceOfEvicted()
    {
        Interlocked.Increment(ref _unauthenticated);
        return Admission.Reserve;
    }

    /// <summary>The connection presented a valid token: it no longer counts against the unauthenticated share.</summary>
    public void Authenticated() => Interlocked.Decrement(ref _unauthenticated);

    /// <summary>The connection closed (or was refused).</summary>
    public void Release(Admission admission, bool authenticated)
    {
        if (admission != Admission.Refused && !authenticated) Interlocked.Decrement(ref _unauthenticated);
        Interlocked.Decrement(ref _open);
    }
}
