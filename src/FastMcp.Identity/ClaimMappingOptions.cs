namespace FastMcp.Identity;

/// <summary>
/// Which token claims become the principal's fields. A name containing dots (<c>realm_access.roles</c>)
/// is first tried as a literal claim name, then as a path through nested objects.
/// </summary>
public sealed class ClaimMappingOptions
{
    public string SubjectClaim { get; set; } = "sub";
    /// <summary>Array or space-separated string of group or role names.</summary>
    public string GroupsClaim { get; set; } = "groups";
    /// <summary>Space-separated string (RFC 8693 <c>scope</c>) or array (<c>scp</c>).</summary>
    public string ScopeClaim { get; set; } = "scope";
    /// <summary>Client id claim (RFC 9068 <c>client_id</c>); <c>azp</c> is used when it is absent.</summary>
    public string ClientIdClaim { get; set; } = "client_id";
}
