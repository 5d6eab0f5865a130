using FastMcp.Pan.Payloads;

namespace FastMcp.Policy;

/// <summary>The "contains a card number" condition, delegated to the PAN scanner so policy and masking agree on what a card number is.</summary>
internal static class CardNumberDetector
{
    public static bool Contains(ReadOnlySpan<byte> utf8) => FastMcp.Pan.PanMasker.ContainsCardNumber(utf8);

    /// <summary>A JSON subtree: its text, and the base64 payloads (blob, data) in it decoded, as masking reads them.</summary>
    public static bool ContainsInJson(ReadOnlySpan<byte> json) => Contains(json) || Base64Payloads.ContainsCardNumber(json);

    /// <summary>
    /// The same for a JSON object or array at <paramref name="offset"/> in the message <paramref name="scan"/> read: its
    /// answer where it knows one, a scan of the subtree where it does not (so the verdict is the one scanning gives).
    /// </summary>
    public static bool ContainsInJson(ReadOnlySpan<byte> json, FastMcp.Pan.MessageCardScan? scan, int offset)
    {
        if (scan is null) return ContainsInJson(json);
        switch (scan.TextHolds(offset, json.Length))
        {
            case FastMcp.Pan.CardPresence.Present: return true;
            case FastMcp.Pan.CardPresence.Unknown when Contains(json): return true;
        }
        return !scan.NoPayloads && Base64Payloads.ContainsCardNumber(json);
    }

    /// <summary>A string the pointer names itself, read as base64 when it is one (the raw bytes between its quotes).</summary>
    public static bool ContainsInBase64(ReadOnlySpan<byte> rawString) => JsonBase64String.ContainsCardNumber(rawString);
}
