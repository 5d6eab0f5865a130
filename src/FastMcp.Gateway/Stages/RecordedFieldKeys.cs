using FastMcp.Gateway.Approvals;
using FastMcp.Gateway.Forwarding;

namespace FastMcp.Gateway.Stages;

/// <summary>
/// The keys of the MACs records hold instead of values, derived from the card fingerprint key as the approval cookie key
/// is (<see cref="ApprovalCookies.DerivedKey"/>), and the fields audit.redactHeaders names.
/// </summary>
internal sealed class RecordedFieldKeys(byte[]? cardFingerprintKey, List<string>? redactHeaders)
{
    /// <summary>The approval digest's cookie key: a cookie's MAC in a record equals the one in its approval's digest line.</summary>
    public readonly byte[] Cookie = ApprovalCookies.Key(cardFingerprintKey);

    /// <summary>Its own label, so a redacted field's MAC never equals a cookie's or a card's fingerprint.</summary>
    public readonly byte[] Header = ApprovalCookies.DerivedKey(cardFingerprintKey, "fastmcp audit header v1"u8);

    private readonly ForwardedHeaderAllowlist _redacted = redactHeaders is { Count: > 0 } names ? ForwardedHeaderAllowlist.Compile(names) : ForwardedHeaderAllowlist.None;

    /// <summary>Whether audit.redactHeaders names any field.</summary>
    public bool RedactsAny => !_redacted.AllowsNone;

    /// <summary>Whether a field of this name (any letter case) is recorded by MAC.</summary>
    public bool Redacts(ReadOnlySpan<byte> name) => !_redacted.AllowsNone && _redacted.Allows(name);
}
