namespace FastMcp.Gateway.Forwarding;

/// <summary>
/// Whether bytes are text the stages read as a client does: valid UTF-8 without NUL. UTF-16 and UTF-32 put NULs between
/// the digits of a card number, and a lenient decoder drops invalid bytes between them, so the scanner would see no card
/// number where a client may still read one.
/// </summary>
internal static class Utf8Text
{
    public static bool IsReadable(ReadOnlySpan<byte> bytes) => !bytes.Contains((byte)0) && System.Text.Unicode.Utf8.IsValid(bytes);

    /// <summary>
    /// A UTF-8 byte order mark first: an event-stream reader drops it at the start of the stream and reads the field
    /// after it, where the gateway sees a field named otherwise (so no data).
    /// </summary>
    public static bool StartsWithByteOrderMark(ReadOnlySpan<byte> bytes) => bytes.StartsWith("\uFEFF"u8);
}
