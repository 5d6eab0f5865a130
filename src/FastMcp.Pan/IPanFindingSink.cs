namespace FastMcp.Pan;

/// <summary>
/// Receives each card number found, without allocation. <paramref name="offset"/> is the byte offset of the
/// card number's first digit relative to the start of the buffer, sequence or stream that was given;
/// <paramref name="length"/> is its length in bytes (separators, JSON escapes and 3-byte fullwidth digits included).
/// <paramref name="fingerprint32"/> is the HMAC-SHA-256 of the PAN's ASCII digits (a fullwidth or escaped digit
/// counts as the ASCII digit it stands for) under the configured key (empty when fingerprints are disabled); it is
/// only valid during the call.
/// </summary>
public interface IPanFindingSink
{
    void OnCardNumber(CardBrand brand, long offset, int length, ReadOnlySpan<byte> fingerprint32);
}
