namespace FastMcp.Identity;

/// <summary>Why a request was not authenticated: a closed set, each mapping to one status code (see <see cref="ResourceMetadata.StatusCode"/>).</summary>
public enum AuthFailure : byte
{
    None,
    MissingToken,
    MalformedHeader,
    TokenInQuery,
    InvalidSignature,
    AlgorithmNotAllowed,
    Expired,
    NotYetValid,
    WrongIssuer,
    WrongAudience,
    UnknownKey,
    InsufficientScope,
    Malformed,
    /// <summary>The token's cnf claim is not an object, or names a confirmation method the gateway does not verify.</summary>
    UnsupportedConfirmation,
    /// <summary>A certificate-bound token (cnf x5t#S256) on a connection that presented no client certificate.</summary>
    CertificateMissing,
    /// <summary>A certificate-bound token on a connection whose client certificate is another one.</summary>
    CertificateMismatch,
    /// <summary>The Authorization scheme does not fit the token: DPoP without cnf.jkt, or Bearer with it (RFC 9449 §7.2).</summary>
    DpopSchemeMismatch,
    /// <summary>A DPoP-bound token whose DPoP proof is missing or fails a check of RFC 9449 §4.3.</summary>
    InvalidDpopProof,
    /// <summary>identity.dpop.required, and the token is not bound to a DPoP key (no cnf.jkt).</summary>
    DpopRequired,
    /// <summary>identity.dpop.requireNonce, and the DPoP proof carries no nonce or one not issued recently (RFC 9449 §8).</summary>
    UseDpopNonce,
}
