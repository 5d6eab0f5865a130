using FastMcp.Pan;
using FastMcp.Pan.Payloads;

namespace FastMcp.Policy;

/// <summary>
/// The "contains sensitive authentication data" condition, delegated to the masker's own detection (its member names,
/// its track detector, its base64 payload decoding) so that what masking would blank the policy sees.
/// </summary>
internal static class SensitiveDataDetector
{
    /// <summary>A JSON subtree: track data in its text, a sensitive member's value, track data in a blob/data payload.</summary>
    public static bool ContainsInJson(SensitiveMemberNames names, ReadOnlySpan<byte> json) =>
        PanMasker.ContainsTrackData(json) || Base64Payloads.ContainsSensitiveData(names, json);

    /// <summary>A string's unescaped text: track data after a card number.</summary>
    public static bool ContainsInText(ReadOnlySpan<byte> text) => PanMasker.ContainsTrackData(text);

    /// <summary>A string the pointer names itself, read as base64 when it is one (the raw bytes between its quotes).</summary>
    public static bool ContainsInBase64(ReadOnlySpan<byte> rawString) => JsonBase64String.ContainsTrackData(rawString);
}
