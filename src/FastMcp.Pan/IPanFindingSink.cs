namespace FastMcp.Pan;

/// <summary>
/// Receives each card number found, without allocation. <paramref name="offset"/> is the byte offset of the
/// card number's first digit relative to the start of the buffer, sequence or stream that was given;
/// <paramref name="length"/> is its length in bytes (separators, JSON escapes and multi-byte digits included: 2 bytes
/// for an Arabic-Indic or Persian digit, 3 for a fullwidth or Devanagari one).
/// <paramref name="fingerprint32"/> is the HMAC-SHA-256 of the PAN's ASCII digits (a fullwidth, Arabic-Indic,
/// Persian, Devanagari or escaped digit counts as the ASCII digit it stands for) under the configured key (empty when fingerprints are disabled); it is
/// only valid during the call.
/// </summary>
public interface IPanFindingSink
{
    void OnCardNumber(CardBrand brand, long offset, int length, ReadOnlySpan<byte> fingerprint32);

    /// <summary>
    /// Sensitive authentication data was masked whole: a track after a card number, or a security code or PIN member's
    /// value. A struct sink should implement it (calling the default through a struct would box it).
    /// </summary>
    void OnSensitiveData(SensitiveDataKind kind) { }
}
