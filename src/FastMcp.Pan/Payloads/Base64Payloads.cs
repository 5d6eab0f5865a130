using System.Text;
using System.Text.Json;

namespace FastMcp.Pan.Payloads;

/// <summary>
/// MCP carries files and media as base64: "blob" in resource contents (resources/read, embedded resources) and
/// "data" in image and audio content. A client decodes them, so a card number inside (a CSV export, a text file, a
/// receipt) would pass a masker that reads only the JSON text. This walks one JSON message for string members of
/// those names, in any ASCII letter case (a Go client matches field names that way), decodes each and masks it in
/// place (<see cref="JsonBase64String"/>). Other encodings (hex, compressed bytes, base64 under other names, images
/// of text) are not read: docs/pan-detection.md says so. The same walk masks whole the value of every member the
/// masker's <see cref="SensitiveMemberNames"/> name (card security codes, PINs: PCI DSS 3.3.1), in any escaped spelling.
/// </summary>
public static class Base64Payloads
{
    public enum Result : byte { Unchanged, Masked, Refused }

    private const int MaxDepth = 1024;

    /// <summary>
    /// Cheap test before parsing: a member named blob or data starts with a quote and b/d in either case, and an
    /// escaped name holds a \u escape. Messages with none of these (most tools/call answers) are not parsed.
    /// </summary>
    public static bool MightHold(ReadOnlySpan<byte> json)
    {
        MemberPreTest.Run(json, null, out bool payloads, out _);
        return payloads;
    }

    /// <summary>
    /// Masks card numbers in every blob/data base64 string of <paramref name="json"/>, and the whole value of every
    /// sensitive member (<see cref="PanMasker.SensitiveMembers"/>), in place (same length). Refused: the JSON nests deeper
    /// than this reads, or a masked payload could not be written back.
    /// </summary>
    public static Result MaskInPlace<TSink>(PanMasker masker, Span<byte> json, ref TSink sink) where TSink : IPanFindingSink =>
        Walk(masker, json, ref sink, payloads: true, blankUnmaskable: false);

    /// <summary>
    /// <see cref="MaskInPlace{TSink}(PanMasker, Span{byte}, ref TSink)"/> for a copy that is only recorded, never sent: a payload
    /// whose masked form cannot be written back is blanked whole (every byte between its quotes becomes '*', so the copy stays
    /// JSON of the same length and decodes to nothing) and the walk goes on, masking every later payload and sensitive member.
    /// Refused still says that one was blanked: the request it was copied from must be refused.
    /// </summary>
    public static Result MaskForRecordInPlace<TSink>(PanMasker masker, Span<byte> json, ref TSink sink) where TSink : IPanFindingSink =>
        Walk(masker, json, ref sink, payloads: true, blankUnmaskable: true);

    /// <summary>
    /// Only the sensitive members of <see cref="MaskInPlace{TSink}(PanMasker, Span{byte}, ref TSink)"/>, for text the masker
    /// itself streams (fastmcp mask reads each line as a JSON text). Refused only when the text nests deeper than this reads
    /// and could hold a sensitive member below (its values were not all reached); text that is not JSON to its end (a log
    /// line with a JSON tail) has the values of the sensitive members after the stop masked as a lenient parser reads them.
    /// </summary>
    public static Result MaskSensitiveMembersInPlace<TSink>(PanMasker masker, Span<byte> json, ref TSink sink) where TSink : IPanFindingSink =>
        Walk(masker, json, ref sink, payloads: false, blankUnmaskable: false, refuseAfterStop: false);

    /// <summary>The character a blanked payload is written with (<see cref="MaskForRecordInPlace{TSink}"/>).</summary>
    public const byte BlankedPayloadByte = (byte)'*';

    private static Result Walk<TSink>(PanMasker masker, Span<byte> json, ref TSink sink, bool payloads, bool blankUnmaskable, bool refuseAfterStop = true)
        where TSink : IPanFindingSink
    {
        SensitiveMemberNames sensitive = masker.SensitiveMembers;
        // payloads: whether blob/data members are looked for; the one pre-test pass says whether any could be there.
        MemberPreTest.Run(json, sensitive, out bool payloadsMightBe, out bool members);
        payloads &= payloadsMightBe;
        if (!payloads && !members) return Result.Unchanged;
        bool masked = false, blanked = false;
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = MaxDepth });
        try
        {
            while (reader.Read())
            {
                if (reader.TokenType != JsonTokenType.PropertyName) continue;
                if (members && IsSensitiveName(ref reader, sensitive))
                {
                    if (!reader.Read()) break;
                    if (SensitiveValue.MaskInPlace(masker.MaskByte, json, ref reader))
                    {
                        masked = true;
                        sink.OnSensitiveData(SensitiveDataKind.Member);
                    }
                    continue;
                }
                if (!payloads || !IsPayloadName(ref reader)) continue;
                if (!reader.Read()) break;
                // An object or array under the name is read on into: a payload below it still counts.
                if (reader.TokenType != JsonTokenType.String) continue;
                // The string's bytes lie between its quotes.
                int start = (int)reader.TokenStartIndex + 1;
                Span<byte> content = json.Slice(start, reader.ValueSpan.Length);
                switch (JsonBase64String.MaskInPlace(masker, content, ref sink, out _))
                {
                    case JsonBase64String.Result.Masked: masked = true; break;
                    case JsonBase64String.Result.Unmaskable when blankUnmaskable:
                        // The reader has read past this string: writing over it does not disturb what it reads next.
                        content.Fill(BlankedPayloadByte);
                        blanked = true;
                        break;
                    case JsonBase64String.Result.Unmaskable: return Result.Refused;
                }
            }
        }
        catch (JsonException)
        {
            // Nesting past the reader's depth is JSON a client might still read: refused.
            if (reader.CurrentDepth >= MaxDepth - 1) return Result.Refused;
            // What was read before the error is masked already. A lenient parser reads on past tokens this reader stops
            // at (Python's json reads NaN and Infinity): text after the stop with a member name that could be a sensitive
            // one or a payload is refused. Text with none (an HTML error page: class="data" is no member) passes as before.
            // The values of such members are masked whole in place too (the mask byte over strings, '0' over digits), so
            // that a caller recording the refused text (as not JSON) keeps no code or payload in clear.
            Span<byte> rest = json[(int)Math.Min(reader.BytesConsumed, json.Length)..];
            if (MaskNamedMembersAfterStop(rest, sensitive, members, payloads, masker.MaskByte))
            {
                if (refuseAfterStop) return Result.Refused;
                masked = true;
            }
        }
        if (blanked) return Result.Refused;
        return masked ? Result.Masked : Result.Unchanged;
    }

    /// <summary>
    /// True when a blob/data payload of <paramref name="json"/> decodes to text holding a card number (nothing is
    /// changed): what the policy's containsCardNumber adds to the JSON text. JSON it cannot read to the end counts as
    /// holding one when it is deeper than this reads (fail closed), else what was read before the error decides.
    /// </summary>
    public static bool ContainsCardNumber(ReadOnlySpan<byte> json)
    {
        if (!MightHold(json)) return false;
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = MaxDepth });
        try
        {
            while (NextPayload(ref reader))
            {
                if (JsonBase64String.ContainsCardNumber(reader.ValueSpan)) return true;
            }
        }
        catch (JsonException)
        {
            return reader.CurrentDepth >= MaxDepth - 1;
        }
        return false;
    }

    /// <summary>
    /// True when masking <paramref name="json"/> would blank sensitive authentication data in it (nothing is changed): the
    /// value of a member <paramref name="names"/> name that masking would mask, or track data inside a blob/data payload
    /// (track data in the JSON text itself is <see cref="PanMasker.ContainsTrackData"/>'s). JSON nested deeper than
    /// masking reads counts as holding some (fail closed: masking refuses it too); other JSON it cannot read to the end
    /// is decided on what was read before the error.
    /// </summary>
    public static bool ContainsSensitiveData(SensitiveMemberNames names, ReadOnlySpan<byte> json)
    {
        ArgumentNullException.ThrowIfNull(names);
        MemberPreTest.Run(json, names, out bool payloads, out bool members);
        if (!members && !payloads) return false;
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = MaxDepth });
        try
        {
            while (reader.Read())
            {
                if (reader.TokenType != JsonTokenType.PropertyName) continue;
                if (members && IsSensitiveName(ref reader, names))
                {
                    if (!reader.Read()) break;
                    if (SensitiveValue.WouldMask(ref reader)) return true;
                    continue;
                }
                if (!payloads || !IsPayloadName(ref reader)) continue;
                if (!reader.Read()) break;
                if (reader.TokenType == JsonTokenType.String && JsonBase64String.ContainsTrackData(reader.ValueSpan)) return true;
            }
        }
        catch (JsonException)
        {
            return reader.CurrentDepth >= MaxDepth - 1;
        }
        return false;
    }

    /// <summary>Whether the JSON value <paramref name="json"/> is one masking would blank whole were it a sensitive member's (see <see cref="SensitiveValue"/>).</summary>
    public static bool WouldMaskAsSensitiveValue(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = MaxDepth });
        try
        {
            return reader.Read() && SensitiveValue.WouldMask(ref reader);
        }
        catch (JsonException)
        {
            return true;
        }
    }

    /// <summary><see cref="MaskInPlace{TSink}"/> for text that is recorded or relayed without counting its card numbers.</summary>
    public static Result MaskInPlace(PanMasker masker, Span<byte> json)
    {
        NoFindings none = default;
        return MaskInPlace(masker, json, ref none);
    }

    private struct NoFindings : IPanFindingSink
    {
        public readonly void OnCardNumber(CardBrand brand, long offset, int length, ReadOnlySpan<byte> fingerprint32) { }

        public readonly void OnSensitiveData(SensitiveDataKind kind) { }
    }

    /// <summary>Whether the member name the reader is on is a sensitive one, read unescaped as a client reads it.</summary>
    private static bool IsSensitiveName(ref Utf8JsonReader reader, SensitiveMemberNames names)
    {
        if (!reader.ValueIsEscaped) return names.Matches(reader.ValueSpan);
        // Escaped, a name of 64 characters with separators between them takes at most a few hundred bytes; longer is no name.
        if (reader.ValueSpan.Length > 6 * 2 * SensitiveMemberNames.MaxNameLength) return false;
        Span<byte> unescaped = stackalloc byte[6 * 2 * SensitiveMemberNames.MaxNameLength];
        return names.Matches(unescaped[..reader.CopyString(unescaped)]);
    }

    /// <summary>Reads on to the next string value of a blob/data member; false at the end of the JSON.</summary>
    private static bool NextPayload(ref Utf8JsonReader reader)
    {
        while (reader.Read())
        {
            if (reader.TokenType != JsonTokenType.PropertyName || !IsPayloadName(ref reader)) continue;
            if (!reader.Read()) return false;
            // An object or array under the name is read on into: a payload below it still counts.
            if (reader.TokenType == JsonTokenType.String) return true;
        }
        return false;
    }

    private static bool IsPayloadName(ref Utf8JsonReader reader)
    {
        if (!reader.ValueIsEscaped) return IsPayloadName(reader.ValueSpan);
        // An escaped name ("bl\u006fb") is what a client reads unescaped; four characters take at most 24 bytes escaped.
        if (reader.ValueSpan.Length > 24) return false;
        Span<byte> unescaped = stackalloc byte[24];
        return IsPayloadName(unescaped[..reader.CopyString(unescaped)]);
    }

    /// <summary>
    /// Reads <paramref name="text"/> as a lenient parser reads on past a stop, for member names (a string followed by ':')
    /// that are sensitive, blob/data, or escaped (they could spell either): masks each one's value whole in place and
    /// returns true when there was one.
    /// </summary>
    private static bool MaskNamedMembersAfterStop(Span<byte> text, SensitiveMemberNames sensitive, bool members, bool payloads, byte maskByte)
    {
        bool found = false;
        int at = text.IndexOf((byte)'"');
        while (at >= 0)
        {
            int end = StringEnd(text, at, out bool escaped);
            if (end >= text.Length) return found;
            int after = SkipSpace(text, end + 1);
            if (after < text.Length && text[after] == (byte)':')
            {
                ReadOnlySpan<byte> name = text[(at + 1)..end];
                if (escaped || (payloads && IsPayloadName(name)) || (members && sensitive.Matches(name)))
                {
                    found = true;
                    after = MaskLenientValue(text, SkipSpace(text, after + 1), maskByte);
                }
            }
            if (after >= text.Length) return found;
            int next = text[after..].IndexOf((byte)'"');
            if (next < 0) return found;
            at = after + next;
        }
        return found;
    }

    /// <summary>The index of the quote closing the string opened at <paramref name="open"/> (the text's length if none).</summary>
    private static int StringEnd(ReadOnlySpan<byte> text, int open, out bool escaped)
    {
        escaped = false;
        int end = open + 1;
        while (end < text.Length && text[end] != (byte)'"')
        {
            if (text[end] == (byte)'\\') { escaped = true; end++; }
            end++;
        }
        return Math.Min(end, text.Length);
    }

    private static int SkipSpace(ReadOnlySpan<byte> text, int at)
    {
        while (at < text.Length && text[at] is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n') at++;
        return at;
    }

    /// <summary>
    /// Masks the value starting at <paramref name="at"/> as a lenient parser would read it: a string's bytes, every digit
    /// up to the end of a bare token, or every string and digit inside an object or array up to its matching close.
    /// Returns where reading goes on.
    /// </summary>
    private static int MaskLenientValue(Span<byte> text, int at, byte maskByte)
    {
        int depth = 0;
        while (at < text.Length)
        {
            byte b = text[at];
            if (b == (byte)'"')
            {
                int end = StringEnd(text, at, out _);
                text[(at + 1)..end].Fill(maskByte);
                at = end + 1;
            }
            else if (b is (byte)'{' or (byte)'[') { depth++; at++; }
            else if (b is (byte)'}' or (byte)']') { if (depth == 0) return at; depth--; at++; }
            else if (b == (byte)',' && depth == 0) return at;
            else
            {
                if ((uint)(b - '0') <= 9) text[at] = (byte)'0';
                at++;
            }
            if (depth == 0 && b is (byte)'"' or (byte)'}' or (byte)']') return at;
        }
        return at;
    }

    private static bool IsPayloadName(ReadOnlySpan<byte> name) =>
        name.Length == 4 && (Ascii.EqualsIgnoreCase(name, "blob"u8) || Ascii.EqualsIgnoreCase(name, "data"u8));
}
