using FastMcp.Http;

namespace FastMcp.Gateway.Forwarding;

/// <summary>
/// Whether a whole answer body, just read, can go past the stages (and into the audit log): only UTF-8 text without NUL
/// (Utf8Text) and, when it has bytes, of a media type whose bytes a client reads as the text they are (ReadableMediaType;
/// an event stream is read event by event instead). The plain relay and a federated path's own member calls ask the same.
/// </summary>
internal static class UnreadableAnswer
{
    /// <summary>Why the body cannot be relayed or recorded as it is; None when it can.</summary>
    public static ForwardingError Of(HttpResponseHead head, ReadOnlySpan<byte> body)
    {
        if (!Utf8Text.IsReadable(body)) return ForwardingError.UnreadableEncoding;
        if (!body.IsEmpty && !head.IsEventStream && !ReadableMediaType.IsReadableText(head.Headers)) return ForwardingError.UnreadableMediaType;
        return ForwardingError.None;
    }
}
