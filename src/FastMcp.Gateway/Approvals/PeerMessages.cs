using System.Text.Json.Serialization;

namespace FastMcp.Gateway.Approvals;

/// <summary>POST /peer/v1/lookup: does the peer hold a grant or a pending grant-mode approval for this identical call?</summary>
internal sealed class PeerLookup
{
    public string? Issuer { get; set; }
    public string Subject { get; set; } = "";
    public string Rule { get; set; } = "";
    public string Digest { get; set; } = "";
    public string? Upstream { get; set; }
}

/// <summary>The answer to a lookup: "grant" (admits the call now), "pending", or "none".</summary>
internal sealed class PeerLookupAnswer
{
    public string State { get; set; } = "none";
    public string? Id { get; set; }
    public long ExpiresAtMs { get; set; }
    public long GrantUntilMs { get; set; }
    public List<string> Approvers { get; set; } = [];
    public string? DecidedBy { get; set; }
}

/// <summary>POST /peer/v1/executed: a peer forwarded the call this replica's grant admitted.</summary>
internal sealed class PeerExecuted
{
    public string Id { get; set; } = "";
    public string? Issuer { get; set; }
    public string Subject { get; set; } = "";
    public int HttpStatus { get; set; }
}

/// <summary>The approver a replica authenticated, as it passes them to the holder of an approval.</summary>
internal sealed class PeerPrincipal
{
    public string? Issuer { get; set; }
    public string Subject { get; set; } = "";
    public List<string> Groups { get; set; } = [];
    public string? ClientId { get; set; }
}

/// <summary>POST /peer/v1/approvals: an approvals API request the sender authenticated, answered by the holder alone.</summary>
internal sealed class PeerApiRequest
{
    public PeerPrincipal Principal { get; set; } = new();
    public string Method { get; set; } = "";
    public string Path { get; set; } = "";
    public bool All { get; set; }
    public string? Body { get; set; }
    public string Address { get; set; } = "";
}

/// <summary>POST /peer/v1/standing: does the approval that admitted a task's creating call still stand for that identity?</summary>
internal sealed class PeerStanding
{
    public string Id { get; set; } = "";
    public string? Issuer { get; set; }
    public string Subject { get; set; } = "";
    public string? Rule { get; set; }
}

/// <summary>The answer to a standing request: "approved", "revoked", or "none" (not held here for that identity and rule).</summary>
internal sealed class PeerStandingAnswer
{
    public string State { get; set; } = "none";
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(PeerLookup))]
[JsonSerializable(typeof(PeerLookupAnswer))]
[JsonSerializable(typeof(PeerExecuted))]
[JsonSerializable(typeof(PeerApiRequest))]
[JsonSerializable(typeof(PeerStanding))]
[JsonSerializable(typeof(PeerStandingAnswer))]
internal sealed partial class PeerJsonContext : JsonSerializerContext;
