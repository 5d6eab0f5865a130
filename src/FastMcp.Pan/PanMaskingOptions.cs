namespace FastMcp.Pan;

/// <summary>
/// How found card numbers are masked and fingerprinted. Plain settable properties; <see cref="PanMasker"/>'s
/// constructor validates them and copies what it needs, so later changes do not affect an existing masker.
/// </summary>
public sealed class PanMaskingOptions
{
    /// <summary>Leading digits kept in clear: 0, 6 or 8 (8 only for PANs of 16 or more digits, else 6 is used; PCI DSS 3.4.1).</summary>
    public int KeepFirst { get; set; } = 6;

    /// <summary>Trailing digits kept in clear: 0 to 4.</summary>
    public int KeepLast { get; set; } = 4;

    /// <summary>Byte written over each masked digit: printable ASCII, not a digit, space, dash, quote or backslash.</summary>
    public byte MaskByte { get; set; } = (byte)'*';

    /// <summary>HMAC-SHA-256 key for the keyed fingerprint (PCI DSS 3.5.1.1), at least 16 bytes.</summary>
    public byte[] FingerprintKey { get; set; } = [];

    /// <summary>
    /// When false no fingerprint is computed, no key is needed, and sinks receive an empty fingerprint.
    /// Only for tools that never feed an audit record (e.g. <c>fastmcp mask --no-fingerprint</c>).
    /// </summary>
    public bool ComputeFingerprints { get; set; } = true;

    /// <summary>
    /// Names of JSON members whose value is sensitive authentication data (card security codes, PINs, PIN blocks),
    /// masked whole wherever JSON is masked; compared ASCII case-insensitively with '_' and '-' ignored. Empty turns it off.
    /// </summary>
    public IReadOnlyList<string> SensitiveMembers { get; set; } = SensitiveMemberNames.Default;
}
