using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Serialization;
using FastMcp.Http;

namespace FastMcp.Audit;

/// <summary>
/// Copies of signed checkpoints kept outside the gateway host (docs/audit-format.md §10): without
/// one, deleting the newest segments together with the local checkpoint and last-seal files is
/// undetectable. Plain settable class for source-generated JSON binding.
/// </summary>
public sealed class AnchorOptions
{
    /// <summary>With shipping configured: publish each new checkpoint create-only to {prefix}{chain}/checkpoints/{sequence:D20}.checkpoint.</summary>
    public bool PublishToStore { get; set; } = true;
    /// <summary>Optional witness: every published checkpoint note is POSTed here (http or https).</summary>
    public string? WitnessUrl { get; set; }
    /// <summary>File holding a bearer token for the witness (re-read at each start).</summary>
    public string? WitnessTokenFile { get; set; }
    /// <summary>PEM file of the CA certificates the witness's HTTPS certificate must chain to (only these); unset: the system store.</summary>
    public string? CaFile { get; set; }
    /// <summary>Per publish attempt (store put or witness POST).</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);
    /// <summary>At start, refuse to continue a chain that is behind the newest checkpoint published in the store.</summary>
    public bool CheckOnStart { get; set; } = true;

    /// <summary>Told about every failed publish and every start-up comparison that could not be made (the gateway logs it).</summary>
    [JsonIgnore]
    public Action<string>? OnProblem { get; set; }

    /// <summary>The chain policy of caFile for the witness; refused without an https:// witness, where it would not be used.</summary>
    internal X509ChainPolicy LoadWitnessCaPolicy()
    {
        if (WitnessUrl is null || !WitnessUrl.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
            throw new ArgumentException("set, but anchoring.witnessUrl is not https://: the CAs would not be used", "anchoring.caFile");
        return PrivateCaTrust.TryLoadPolicy(CaFile!, out string problem) ?? throw new ArgumentException(problem, "anchoring.caFile");
    }

    public void Validate()
    {
        if (WitnessUrl is not null && !(Uri.TryCreate(WitnessUrl, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)))
            throw new ArgumentException("Audit.Anchoring.WitnessUrl must be an absolute http or https URL.", "anchoring.witnessUrl");
        if (WitnessTokenFile is not null && WitnessUrl is null)
            throw new ArgumentException("Audit.Anchoring.WitnessTokenFile needs a WitnessUrl.", "anchoring.witnessTokenFile");
        // Read here so a missing token is named at start, not found after the log's segment and clients are opened.
        if (WitnessTokenFile is not null && PrivateCaTrust.TryReadText(WitnessTokenFile, out string tokenProblem) is null)
            throw new ArgumentException(tokenProblem, "anchoring.witnessTokenFile");
        if (CaFile is not null) LoadWitnessCaPolicy();
        if (Timeout <= TimeSpan.Zero) throw new ArgumentException("Audit.Anchoring.Timeout must be positive.", "anchoring.timeout");
    }
}
