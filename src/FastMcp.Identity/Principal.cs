namespace FastMcp.Identity;

/// <summary>
/// Who is calling: the identity a verified token (or the anonymous mode) stands for.
/// Immutable, so one instance is cached with its token and shared by every request that presents it.
/// </summary>
public sealed class Principal
{
    /// <summary>Subject of the anonymous mode, recorded as such in the audit.</summary>
    public const string AnonymousSubject = "anonymous";

    /// <summary>The single anonymous caller used when identity mode is "anonymous".</summary>
    public static Principal Anonymous { get; } = new(AnonymousSubject, [], [], null, null, DateTimeOffset.MaxValue, isAnonymous: true);

    public Principal(string subject, string[] groups, string[] scopes, string? clientId, string? issuer, DateTimeOffset expiresUtc)
        : this(subject, groups, scopes, clientId, issuer, expiresUtc, isAnonymous: false)
    {
    }

    private Principal(string subject, string[] groups, string[] scopes, string? clientId, string? issuer, DateTimeOffset expiresUtc, bool isAnonymous)
    {
        ArgumentException.ThrowIfNullOrEmpty(subject);
        ArgumentNullException.ThrowIfNull(groups);
        ArgumentNullException.ThrowIfNull(scopes);
        Subject = subject;
        Groups = groups;
        Scopes = scopes;
        ClientId = clientId;
        Issuer = issuer;
        ExpiresUtc = expiresUtc;
        IsAnonymous = isAnonymous;
    }

    public string Subject { get; }
    public string[] Groups { get; }
    public string[] Scopes { get; }
    public string? ClientId { get; }
    public string? Issuer { get; }
    public DateTimeOffset ExpiresUtc { get; }
    public bool IsAnonymous { get; }

    /// <summary>True when <paramref name="group"/> is one of <see cref="Groups"/> (ordinal).</summary>
    public bool IsInGroup(string group) => Array.IndexOf(Groups, group) >= 0;

    /// <summary>True when <paramref name="scope"/> is one of <see cref="Scopes"/> (ordinal).</summary>
    public bool HasScope(string scope) => Array.IndexOf(Scopes, scope) >= 0;

    public override string ToString() => IsAnonymous ? AnonymousSubject : $"{Subject} ({Issuer})";
}
