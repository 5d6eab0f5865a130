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
}
