using FastMcp.Identity;

namespace FastMcp.Gateway.Sessions;

/// <summary>
/// Who an MCP session belongs to: the caller (issuer and subject) it was opened for. The gateway strips the caller's
/// token and calls upstreams with its own credential, so an upstream cannot tell callers apart: the gateway must.
/// </summary>
internal sealed class SessionOwner(string subject, string? issuer)
{
    public string Subject { get; } = subject;
    public string? Issuer { get; } = issuer;

    public static SessionOwner Of(Principal principal) => new(principal.Subject, principal.Issuer);

    /// <summary>The same caller: same subject at the same issuer (ordinal, no allocation).</summary>
    public bool Is(string subject, string? issuer) => string.Equals(Subject, subject, StringComparison.Ordinal) && string.Equals(Issuer, issuer, StringComparison.Ordinal);

    public bool Is(Principal principal) => Is(principal.Subject, principal.Issuer);
}
