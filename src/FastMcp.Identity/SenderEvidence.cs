namespace FastMcp.Identity;

/// <summary>
/// What a request shows of the key its token may be bound to, for <see cref="TokenValidator"/> to check against the
/// token's cnf claim: the client certificate of the connection's mutual-TLS handshake (its SHA-256, empty without
/// one) and the request's DPoP field(s), method and target. Borrowed spans, read only while the call runs synchronously.
/// </summary>
public readonly ref struct SenderEvidence
{
    /// <summary>SHA-256 of the DER of the client certificate the connection presented; empty when it presented none
    /// (plain HTTP, TLS without a client certificate, or a TLS terminator in front).</summary>
    public ReadOnlySpan<byte> CertificateSha256 { get; init; }

    /// <summary>The value of the request's DPoP field (the first one when there are several).</summary>
    public ReadOnlySpan<byte> DpopProof { get; init; }

    /// <summary>How many DPoP fields the request carried: exactly one is accepted.</summary>
    public int DpopFieldCount { get; init; }

    /// <summary>The request method as sent (e.g. POST).</summary>
    public ReadOnlySpan<byte> Method { get; init; }

    /// <summary>The request target's path, without query.</summary>
    public ReadOnlySpan<byte> Path { get; init; }

    /// <summary>Scheme and authority the client addressed (https://host[:port]); null means those of identity.resource.</summary>
    public string? Origin { get; init; }

    /// <summary>
    /// The request's DPoP proof was verified when the request came, and the token is checked again for the same request
    /// later (a call held for approval, before it is forwarded): the proof is not checked again, since a proof is single-use
    /// and fresh only for a while. The token's binding still is: its scheme, identity.dpop.required, and a certificate-bound
    /// token's certificate.
    /// </summary>
    public bool ProofCheckedEarlier { get; init; }
}
