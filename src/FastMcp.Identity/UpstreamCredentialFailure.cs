namespace FastMcp.Identity;

/// <summary>Why no credential line can be sent with a request (the request is then not forwarded).</summary>
public enum UpstreamCredentialFailure : byte
{
    None,
    /// <summary>No usable token is held or could be obtained: the token endpoint is down, slow, failing or answered
    /// something unusable; or a per-caller source was asked without a caller (503).</summary>
    Unavailable,
    /// <summary>The token endpoint refused a token for this caller and upstream (invalid_grant, invalid_target,
    /// unauthorized_client, 401, 403): another caller may still get one (403).</summary>
    Refused,
}

/// <summary>The header line to send with one request, or why there is none.</summary>
public readonly record struct UpstreamCredentialLine(byte[] Line, UpstreamCredentialFailure Failure)
{
    public bool Ok => Failure == UpstreamCredentialFailure.None;
}
