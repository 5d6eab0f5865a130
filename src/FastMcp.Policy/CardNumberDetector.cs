namespace FastMcp.Policy;

/// <summary>The "contains a card number" condition, delegated to the PAN scanner so policy and masking agree on what a card number is.</summary>
internal static class CardNumberDetector
{
    public static bool Contains(ReadOnlySpan<byte> utf8) => FastMcp.Pan.PanMasker.ContainsCardNumber(utf8);
}
