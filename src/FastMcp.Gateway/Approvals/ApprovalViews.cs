using System.Text.Json.Serialization;

namespace FastMcp.Gateway.Approvals;

/// <summary>An approval as the admin API, the CLI and the webhook show it (docs/approvals.md).</summary>
internal sealed class ApprovalView
{
    public string Id { get; set; } = "";
    public string State { get; set; } = "";
    public string Mode { get; set; } = "";
    public string Rule { get; set; } = "";
    public string? Message { get; set; }
    public RequesterView Requester { get; set; } = new();
    public string Method { get; set; } = "";
    public string? Target { get; set; }
    /// <summary>The upstream the call goes to (on a federated path the member; two members may have a tool of the same name): a grant admits the call to it only.</summary>
    public string? Upstream { get; set; }
    /// <summary>The call's arguments as JSON text, card numbers masked.</summary>
    public string Arguments { get; set; } = "{}";
    /// <summary>Everything the approval covers: params as canonical JSON text (all but _meta.progressToken), card numbers masked.</summary>
    public string Params { get; set; } = "{}";
    /// <summary>The request target's query the upstream gets, card numbers masked ("" without one): bound by the digest too.</summary>
    public string Query { get; set; } = "";
    /// <summary>The client's header fields the upstream gets under forwardHeaders, card numbers masked ("" without any): bound by the digest too.</summary>
    public string Headers { get; set; } = "";
    /// <summary>The names of the cookies the upstream gets under forwardCookies ("" without any): their values are bound by the digest, never shown.</summary>
    public string Cookies { get; set; } = "";
    public string Digest { get; set; } = "";
    public string CreatedAt { get; set; } = "";
    public string ExpiresAt { get; set; } = "";
    public int RequiredApprovals { get; set; }
    public List<VoteView> Approvals { get; set; } = [];
    public List<string> ApproverGroups { get; set; } = [];
    public string? DecidedBy { get; set; }
    public string? DecidedAt { get; set; }
    public string? Reason { get; set; }
    public string? GrantUntil { get; set; }
    /// <summary>A revoked grant: who took it back, and when (reason holds why).</summary>
    public string? RevokedBy { get; set; }
    public string? RevokedAt { get; set; }
    public int Executions { get; set; }
    /// <summary>In a list merged from approvals.peers: the admin URL of the replica that holds this approval (absent for this replica's own).</summary>
    public string? HeldBy { get; set; }

    public static ApprovalView From(PendingApproval a)
    {
        var view = new ApprovalView
        {
            Id = a.Id,
            State = ApprovalBroker.Describe(a.State),
            Mode = a.Mode == FastMcp.Policy.ApprovalMode.Grant ? "grant" : "hold",
            Rule = a.RuleName,
            Message = a.Message,
            Requester = new RequesterView { Subject = a.Requester.Subject, Groups = [.. a.Requester.Groups], ClientId = a.Requester.ClientId, Address = a.ClientAddress },
            Method = a.Method,
            Target = a.Target,
            Upstream = a.Upstream,
            Arguments = a.MaskedArguments,
            Params = a.MaskedParams,
            Query = a.Query,
            Headers = a.Headers,
            Cookies = ApprovalCookies.Names(a.Cookies),
            Digest = a.Digest,
            CreatedAt = ApprovalBroker.Iso(a.CreatedUtc),
            ExpiresAt = ApprovalBroker.Iso(a.ExpiresUtc),
            RequiredApprovals = a.RequiredApprovals,
            ApproverGroups = [.. a.ApproverGroups],
            DecidedBy = a.DecidedBy,
            DecidedAt = a.DecidedUtc is { } d ? ApprovalBroker.Iso(d) : null,
            Reason = a.Reason,
            GrantUntil = a.GrantUntilUtc is { } g ? ApprovalBroker.Iso(g) : null,
            RevokedBy = a.RevokedBy,
            RevokedAt = a.RevokedUtc is { } r ? ApprovalBroker.Iso(r) : null,
            Executions = a.Executions,
        };
        foreach (ApprovalVote v in a.Votes) view.Approvals.Add(new VoteView { Approver = v.Approver, At = ApprovalBroker.Iso(v.AtUtc), Comment = v.Comment });
        return view;
    }
}

internal sealed class RequesterView
{
    public string Subject { get; set; } = "";
    public List<string> Groups { get; set; } = [];
    public string? ClientId { get; set; }
    public string? Address { get; set; }
}

internal sealed class VoteView
{
    public string Approver { get; set; } = "";
    public string At { get; set; } = "";
    public string? Comment { get; set; }
}

internal sealed class ApprovalListView
{
    public List<ApprovalView> Approvals { get; set; } = [];

    /// <summary>Peers (approvals.peers) that could not be asked: their approvals are missing from this list.</summary>
    public List<string>? Unreachable { get; set; }
}

/// <summary>Body of POST /approvals/{id}/approve (comment optional), /deny and /revoke (reason required).</summary>
internal sealed class DecisionRequest
{
    public string? Comment { get; set; }
    public string? Reason { get; set; }
}

internal sealed class ApiError
{
    public string Error { get; set; } = "";
    public ApprovalView? Approval { get; set; }

    /// <summary>An id no replica answered for: the peers that could not be asked (one of them may hold it).</summary>
    public List<string>? Unreachable { get; set; }
}

/// <summary>What the webhook POSTs.</summary>
internal sealed class WebhookPayload
{
    public string Event { get; set; } = "";
    public string Delivery { get; set; } = "";
    public string Timestamp { get; set; } = "";
    /// <summary>approval.executed: the HTTP status the forwarded call got.</summary>
    public int? HttpStatus { get; set; }
    public ApprovalView Approval { get; set; } = new();
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ApprovalView))]
[JsonSerializable(typeof(ApprovalListView))]
[JsonSerializable(typeof(DecisionRequest))]
[JsonSerializable(typeof(ApiError))]
[JsonSerializable(typeof(WebhookPayload))]
internal sealed partial class ApprovalJsonContext : JsonSerializerContext;
