using System.Buffers;
using System.Buffers.Text;
using System.Runtime.InteropServices;
using System.Text;
using FastMcp.Http;
using FastMcp.Mcp;
using FastMcp.Pan;

namespace FastMcp.Gateway.Stages;

/// <summary>
/// Request headers that mirror the body (Mcp-Name, Mcp-Param-*) are masked like the body when requests are masked,
/// in place in the connection's own head buffer (same length, so the forwarded head stays well-formed). A value in
/// the <c>=?base64?…?=</c> form is decoded, masked and encoded again. Mirrors are masked with the mask byte, as
/// string contents are; the one exception is a Mcp-Param value that is a whole number which the forwarded body
/// still carries as a JSON number (numbers "detect"): it is left as the body leaves it. A Mcp-Param header whose
/// parameter is a sensitive member (a security code, a PIN: <see cref="PanMasker.SensitiveMembers"/>) has its whole
/// value masked, as the body's member is.
/// </summary>
internal static class MirroredHeaderMasking
{
    private const int StackDecode = 768;

    public static int Mask(PanMasker masker, HttpHeaderTable headers, in ReadOnlySequence<byte> forwardedBody, bool numbersKept)
    {
        int found = 0;
        for (int i = 0; i < headers.Count; i++)
        {
            bool name = headers.KindAt(i) == KnownHeader.McpName;
            if (!name && !IsParamHeader(headers.NameAt(i))) continue;
            Span<byte> value = MemoryMarshal.AsMemory(headers.ValueMemoryAt(i)).Span;
            if (!name && masker.SensitiveMembers.Matches(headers.NameAt(i)["Mcp-Param-".Length..]))
            {
                // Plain or =?base64?…?=, the value says nothing once every byte is the mask byte.
                value.Fill(masker.MaskByte);
                found++;
                continue;
            }
            found += MaskValue(masker, value, forwardedBody, keepBodyNumbers: numbersKept && !name);
        }
        return found;
    }

    public static bool IsParamHeader(ReadOnlySpan<byte> name)
    {
        if (name.Length <= "Mcp-Param-".Length) return false;
        // Letters folded by their 0x20 bit only (a byte ORed to 'm' is 'M' or 'm', nothing else), the dashes compared as
        // they are: what Ascii.EqualsIgnoreCase answers, in two loads instead of its call per field (issue #14).
        ulong head = System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(name);
        ushort tail = System.Buffers.Binary.BinaryPrimitives.ReadUInt16LittleEndian(name[8..]);
        return (head | ParamHeadFold) == ParamHead && (tail | ParamTailFold) == ParamTail;
    }

    // "mcp-para" and "m-" as little-endian loads, and the 0x20 bit of each letter among them.
    private const ulong ParamHead = 0x617261702D70636D, ParamHeadFold = 0x2020202000202020;
    private const ushort ParamTail = 0x2D6D, ParamTailFold = 0x0020;

    private static int MaskValue(PanMasker masker, Span<byte> raw, in ReadOnlySequence<byte> body, bool keepBodyNumbers)
    {
        int start = raw.IndexOfAnyExcept((byte)' ', (byte)'\t');
        if (start < 0) return 0;
        Span<byte> value = raw[start..(raw.LastIndexOfAnyExcept((byte)' ', (byte)'\t') + 1)];
        if (!McpHeaderValue.IsEncoded(value)) return MaskText(masker, value, body, keepBodyNumbers);

        Span<byte> payload = value["=?base64?".Length..^"?=".Length];
        int max = Base64.GetMaxDecodedFromUtf8Length(payload.Length);
        byte[]? rented = max > StackDecode ? ArrayPool<byte>.Shared.Rent(max) : null;
        Span<byte> decoded = rented ?? stackalloc byte[StackDecode];
        try
        {
            if (Base64.DecodeFromUtf8(payload, decoded, out int consumed, out int written) != OperationStatus.Done || consumed != payload.Length)
            {
                // Not valid base64: nobody can read a card number out of it as base64, but mask the text anyway.
                return MaskText(masker, payload, body, keepBodyNumbers: false);
            }
            decoded = decoded[..written];
            int n = MaskText(masker, decoded, body, keepBodyNumbers);
            if (n > 0 && (Base64.EncodeToUtf8(decoded, payload, out _, out int encoded) != OperationStatus.Done || encoded != payload.Length))
            {
                // Non-canonical base64 that does not re-encode to the same length: the value cannot be kept, so blank it.
                payload.Fill((byte)'A');
            }
            return n;
        }
        finally
        {
            if (rented is not null) ArrayPool<byte>.Shared.Return(rented, clearArray: true);
        }
    }

    private static int MaskText(PanMasker masker, Span<byte> text, in ReadOnlySequence<byte> body, bool keepBodyNumbers)
    {
        if (keepBodyNumbers && IsWholeNumber(text) && PanMasker.ContainsCardNumber(text) && BodyHoldsNumber(body, text.TrimStart((byte)'-'))) return 0;
        return masker.MaskTextInPlace(text);
    }

    private static bool IsWholeNumber(ReadOnlySpan<byte> text)
    {
        ReadOnlySpan<byte> digits = text.Length > 0 && text[0] == (byte)'-' ? text[1..] : text;
        return digits.Length > 0 && !digits.ContainsAnyExceptInRange((byte)'0', (byte)'9');
    }

    /// <summary>Whether the forwarded body carries these digits as a whole number (not inside a longer digit run or a string).</summary>
    private static bool BodyHoldsNumber(in ReadOnlySequence<byte> body, ReadOnlySpan<byte> digits)
    {
        var reader = new SequenceReader<byte>(body);
        while (reader.TryReadTo(out ReadOnlySequence<byte> _, digits, advancePastDelimiter: false))
        {
            bool boundedLeft = true;
            if (reader.Consumed > 0)
            {
                reader.Rewind(1);
                reader.TryPeek(out byte before);
                reader.Advance(1);
                boundedLeft = before is not ((>= (byte)'0' and <= (byte)'9') or (byte)'"' or (byte)'.');
            }
            bool boundedRight = !reader.TryPeek(digits.Length, out byte after) || after is not ((>= (byte)'0' and <= (byte)'9') or (byte)'"' or (byte)'.' or (byte)'e' or (byte)'E');
            if (boundedLeft && boundedRight) return true;
            reader.Advance(1);
        }
        return false;
    }
}
