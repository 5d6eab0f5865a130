using System.Text;
using FastMcp.Pan;

namespace FastMcp.Gateway.Stages;

/// <summary>
/// Masks card numbers in free text the gateway writes or passes on outside the data path: log lines,
/// approvers' comments and reasons. First 6 and last 4 digits stay visible (PCI DSS 3.4.1).
/// </summary>
internal static class CardText
{
    private static readonly PanMasker Masker = new(new PanMaskingOptions { ComputeFingerprints = false });

    /// <summary>The text with every card number masked; the same instance when there is none.</summary>
    public static string Mask(string text)
    {
        // Digits of other scripts (fullwidth, Arabic-Indic, Persian, Devanagari) are card digits too: only pure
        // ASCII text without a digit can skip the masker.
        if (!text.AsSpan().ContainsAnyInRange('0', '9') && !text.AsSpan().ContainsAnyExceptInRange('\0', '\x7F')) return text;
        byte[] utf8 = Encoding.UTF8.GetBytes(text);
        return Masker.MaskTextInPlace(utf8) == 0 ? text : Encoding.UTF8.GetString(utf8);
    }

    /// <summary>
    /// A request target's query ('?' included) with card numbers masked as approvals mask one (decoded, each masked byte
    /// written back in its own encoding); a query whose mask cannot be written in place is shown withheld.
    /// </summary>
    public static string MaskQuery(ReadOnlySpan<byte> query)
    {
        byte[] copy = query.ToArray();
        CardFindings found = default;
        return QueryCardMasking.TryMaskInPlace(Masker, copy, ref found)
            ? Encoding.ASCII.GetString(copy)
            : "?(withheld: holds a card number that cannot be masked in place)";
    }

    /// <summary>A copy of a complete JSON text with every card number masked (escaped digits and bare numbers included).</summary>
    public static byte[] MaskJson(ReadOnlySpan<byte> json)
    {
        byte[] copy = json.ToArray();
        Masker.MaskInPlace(copy);
        return copy;
    }
}
