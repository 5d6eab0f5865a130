namespace FastMcp.Identity;

/// <summary>Outcome of authenticating one request: a principal, or a failure reason with a human-readable description.</summary>
public readonly struct AuthResult
{
    private AuthResult(Principal? principal, AuthFailure failure, string? description)
    {
        Principal = principal;
        Failure = failure;
        Description = description;
    }

    /// <summary>The caller; set when <see cref="Failure"/> is <see cref="AuthFailure.None"/>, and also for
    /// <see cref="AuthFailure.InsufficientScope"/> (the caller is known but lacks a required scope).</summary>
    public Principal? Principal { get; }
    public AuthFailure Failure { get; }
    public string? Description { get; }
    public bool Succeeded => Failure == AuthFailure.None;

    public static AuthResult Success(Principal principal) => new(principal, AuthFailure.None, null);
    public static AuthResult Fail(AuthFailure failure, string description) => new(null, failure, description);
    public static AuthResult MissingScope(Principal principal, string description) => new(principal, AuthFailure.InsufficientScope, description);

    public override string ToString() => Succeeded ? $"ok {Principal}" : $"{Failure}: {Description}";
}
