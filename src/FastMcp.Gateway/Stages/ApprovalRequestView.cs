namespace FastMcp.Gateway.Stages;

/// <summary>
/// A held call as its approvers are shown it and its approval binds it (docs/approvals.md): masked with the default
/// masking whatever profile masks the call for its caller (approvers are operators, not the caller).
/// <see cref="Shown"/>: the masked request the ApprovalRequested record holds when it is not the exchange's recorded copy
/// (the rule's maskProfile masks that one); null when it is.
/// </summary>
internal sealed record ApprovalRequestView(string Method, string? Target, string MaskedArguments, string MaskedParams, string Digest, string MaskedQuery,
    string ForwardedHeaders, string ForwardedCookies, byte[]? Shown);
