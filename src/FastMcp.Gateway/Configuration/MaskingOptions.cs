namespace FastMcp.Gateway.Configuration;

/// <summary>Card-number (PAN) masking settings.</summary>
public sealed class MaskingOptions
{
    /// <summary>Mask card numbers in every response and in what is recorded. Off only for diagnostics.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Leading digits kept visible: 0, 6 or 8 (PCI DSS 3.4.1).</summary>
    public int KeepFirst { get; set; } = 6;

    /// <summary>Trailing digits kept visible (at most 4).</summary>
    public int KeepLast { get; set; } = 4;

    /// <summary>
    /// What a card number in a request does before it reaches the upstream: "mask" (masked in
    /// place), "forward" (sent as is; masked only in the audit record) or "block" (the call is
    /// refused with a JSON-RPC error).
    /// </summary>
    public string Requests { get; set; } = "mask";

    /// <summary>
    /// With requests "mask": what a card number written as a bare JSON number does. "detect" (found,
    /// fingerprinted, seen by policy, recorded masked, forwarded unchanged: rewriting a number changes its
    /// value), "mask" (rewritten with digits) or "block" (the call is refused).
    /// </summary>
    public string Numbers { get; set; } = "detect";

    /// <summary>
    /// JSON members whose value is sensitive authentication data (card security codes, PINs, PIN blocks: PCI DSS 3.3.1),
    /// masked whole in requests (per requests), responses and the audit record; matched ASCII case-insensitively with
    /// '_' and '-' ignored, in any escaped spelling. [] turns it off. Profiles cannot change it.
    /// </summary>
    public List<string>? SensitiveMembers { get; set; } = [.. FastMcp.Pan.SensitiveMemberNames.Default];

    /// <summary>Named profiles an allow or require_approval rule's maskProfile can pick (see MaskingProfileOptions).</summary>
    public Dictionary<string, MaskingProfileOptions> Profiles { get; set; } = new(StringComparer.Ordinal);

    /// <summary>File holding the HMAC-SHA-256 fingerprint key (hex or base64, at least 16 bytes).</summary>
    public string? FingerprintKeyFile { get; set; }

    /// <summary>Environment variable holding the fingerprint key.</summary>
    public string? FingerprintKeyEnv { get; set; } = "FASTMCP_PAN_KEY";
}
