using System.Buffers;
using System.Buffers.Text;
using System.Text;

namespace FastMcp.Mcp;

/// <summary>
/// JSON-RPC error responses written straight into an <see cref="IBufferWriter{T}"/> (the gateway's pipe):
/// <c>{"jsonrpc":"2.0","id":ID,"error":{"code":C,"message":"M"[,"data":D]}}</c>. One GetSpan/Advance per
/// response, no allocation. The id and data are raw JSON the caller vouches for (the id comes from
/// <see cref="McpCall.IdRange"/>); the message is text and is escaped here.
/// </summary>
public static class JsonRpcErrorWriter
{
    private static ReadOnlySpan<byte> Head => "{\"jsonrpc\":\"2.0\",\"id\":"u8;
    private static ReadOnlySpan<byte> ErrorCode => ",\"error\":{\"code\":"u8;
    private static ReadOnlySpan<byte> MessageStart => ",\"message\":\""u8;
    private static ReadOnlySpan<byte> DataStart => "\",\"data\":"u8;
    private static ReadOnlySpan<byte> NoData => "\"}}"u8;
    private static ReadOnlySpan<byte> Null => "null"u8;
    private static ReadOnlySpan<byte> ReplacementEscape => "\\ufffd"u8;
    private static ReadOnlySpan<byte> Hex => "0123456789abcdef"u8;

    private const int MaxCodeLength = 11; // "-2147483648"
    private const int MaxEscapedBytesPerByte = 6; // \u00XX for a control byte, \ufffd for an invalid one

    // Bytes that cannot be copied as they are: quote, backslash, controls, and anything non-ASCII (validated).
    private static readonly SearchValues<byte> NeedsEscape = SearchValues.Create(BuildNeedsEscape());

    /// <summary>Writes one error response. <paramref name="rawId"/> empty writes <c>null</c>; <paramref name="dataJson"/> empty omits data.</summary>
    public static void Write(IBufferWriter<byte> output, ReadOnlySpan<byte> rawId, int code, ReadOnlySpan<byte> messageUtf8, ReadOnlySpan<byte> dataJson = default)
    {
        ArgumentNullException.ThrowIfNull(output);
        Span<byte> span = output.GetSpan(GetMaxLength(rawId.Length, messageUtf8.Length, dataJson.Length));
        int n = WriteHead(span, code, rawId.IsEmpty ? Null : rawId);
        n += WriteTail(span[n..], messageUtf8, dataJson);
        output.Advance(n);
    }

    /// <summary>
    /// Writes one error response whose id is the token at <paramref name="idRange"/> of <paramref name="body"/>
    /// (e.g. <see cref="McpCall.IdRange"/>), which may span segments. An empty range writes <c>null</c>.
    /// </summary>
    public static void Write(IBufferWriter<byte> output, in ReadOnlySequence<byte> body, Range idRange, int code, ReadOnlySpan<byte> messageUtf8, ReadOnlySpan<byte> dataJson = default)
    {
        ArgumentNullException.ThrowIfNull(output);
        int idStart = idRange.Start.Value, idLength = idRange.End.Value - idStart;
        if (idLength <= 0 || idRange.Start.IsFromEnd || idRange.End.IsFromEnd || idRange.End.Value > body.Length)
        {
            Write(output, ReadOnlySpan<byte>.Empty, code, messageUtf8, dataJson);
            return;
        }
        ReadOnlySequence<byte> id = body.Slice(idStart, idLength);
        if (id.IsSingleSegment)
        {
            Write(output, id.FirstSpan, code, messageUtf8, dataJson);
            return;
        }
        Span<byte> span = output.GetSpan(GetMaxLength(idLength, messageUtf8.Length, dataJson.Length));
        Head.CopyTo(span);
        int n = Head.Length;
        id.CopyTo(span[n..]);
        n += idLength;
        n += WriteCode(span[n..], code);
        n += WriteTail(span[n..], messageUtf8, dataJson);
        output.Advance(n);
    }

    /// <summary>
    /// Writes the MCP UnsupportedProtocolVersion error (-32022) with <c>data.supported</c> (the versions the
    /// gateway knows) and <c>data.requested</c> (escaped here; cut at 64 bytes, since it is attacker-chosen).
    /// </summary>
    public static void WriteUnsupportedProtocolVersion(IBufferWriter<byte> output, in ReadOnlySequence<byte> body, Range idRange, ReadOnlySpan<byte> requestedUtf8)
    {
        const int MaxRequested = 64;
        ReadOnlySpan<byte> supportedStart = "{\"supported\":"u8;
        ReadOnlySpan<byte> requestedStart = ",\"requested\":\""u8;
        Span<byte> data = stackalloc byte[128 + (MaxRequested * MaxEscapedBytesPerByte)];
        int n = 0;
        supportedStart.CopyTo(data);
        n += supportedStart.Length;
        McpProtocolVersions.KnownJsonArray.CopyTo(data[n..]);
        n += McpProtocolVersions.KnownJsonArray.Length;
        requestedStart.CopyTo(data[n..]);
        n += requestedStart.Length;
        n += WriteEscapedString(data[n..], requestedUtf8.Length > MaxRequested ? requestedUtf8[..MaxRequested] : requestedUtf8);
        data[n++] = (byte)'"';
        data[n++] = (byte)'}';
        Write(output, body, idRange, JsonRpcErrorCodes.UnsupportedProtocolVersion, "Unsupported protocol version"u8, data[..n]);
    }

    /// <summary>Upper bound of the bytes <see cref="Write(IBufferWriter{byte}, ReadOnlySpan{byte}, int, ReadOnlySpan{byte}, ReadOnlySpan{byte})"/> produces.</summary>
    public static int GetMaxLength(int idLength, int messageLength, int dataLength) =>
        checked(Head.Length + Math.Max(idLength, Null.Length) + ErrorCode.Length + MaxCodeLength
            + MessageStart.Length + (messageLength * MaxEscapedBytesPerByte) + DataStart.Length + dataLength + NoData.Length);

    /// <summary>
    /// Writes <c>message</c> as JSON string content (without quotes): escapes quote, backslash and controls,
    /// replaces invalid UTF-8 with \ufffd. Returns bytes written; <paramref name="destination"/> must hold 6 per input byte.
    /// </summary>
    public static int WriteEscapedString(Span<byte> destination, ReadOnlySpan<byte> utf8)
    {
        int written = 0;
        while (!utf8.IsEmpty)
        {
            int plain = utf8.IndexOfAny(NeedsEscape);
            if (plain < 0)
            {
                plain = utf8.Length;
            }
            utf8[..plain].CopyTo(destination[written..]);
            written += plain;
            utf8 = utf8[plain..];
            if (utf8.IsEmpty)
            {
                break;
            }

            byte b = utf8[0];
            if (b >= 0x80)
            {
                OperationStatus status = Rune.DecodeFromUtf8(utf8, out _, out int consumed);
                if (status == OperationStatus.Done)
                {
                    utf8[..consumed].CopyTo(destination[written..]);
                    written += consumed;
                }
                else
                {
                    ReplacementEscape.CopyTo(destination[written..]);
                    written += ReplacementEscape.Length;
                }
                utf8 = utf8[Math.Max(consumed, 1)..];
                continue;
            }

            destination[written++] = (byte)'\\';
            switch (b)
            {
                case (byte)'"': destination[written++] = (byte)'"'; break;
                case (byte)'\\': destination[written++] = (byte)'\\'; break;
                case (byte)'\n': destination[written++] = (byte)'n'; break;
                case (byte)'\r': destination[written++] = (byte)'r'; break;
                case (byte)'\t': destination[written++] = (byte)'t'; break;
                default:
                    destination[written++] = (byte)'u';
                    destination[written++] = (byte)'0';
                    destination[written++] = (byte)'0';
                    destination[written++] = Hex[b >> 4];
                    destination[written++] = Hex[b & 0xF];
                    break;
            }
            utf8 = utf8[1..];
        }
        return written;
    }

    private static int WriteHead(Span<byte> span, int code, ReadOnlySpan<byte> id)
    {
        Head.CopyTo(span);
        int n = Head.Length;
        id.CopyTo(span[n..]);
        n += id.Length;
        return n + WriteCode(span[n..], code);
    }

    private static int WriteCode(Span<byte> span, int code)
    {
        ErrorCode.CopyTo(span);
        int n = ErrorCode.Length;
        Utf8Formatter.TryFormat(code, span[n..], out int digits);
        return n + digits;
    }

    private static int WriteTail(Span<byte> span, ReadOnlySpan<byte> message, ReadOnlySpan<byte> data)
    {
        MessageStart.CopyTo(span);
        int n = MessageStart.Length;
        n += WriteEscapedString(span[n..], message);
        if (data.IsEmpty)
        {
            NoData.CopyTo(span[n..]);
            return n + NoData.Length;
        }
        DataStart.CopyTo(span[n..]);
        n += DataStart.Length;
        data.CopyTo(span[n..]);
        n += data.Length;
        span[n++] = (byte)'}';
        span[n++] = (byte)'}';
        return n;
    }

    private static byte[] BuildNeedsEscape()
    {
        var bytes = new List<byte>(32 + 2 + 128);
        for (int b = 0; b < 0x20; b++) bytes.Add((byte)b);
        bytes.Add((byte)'"');
        bytes.Add((byte)'\\');
        for (int b = 0x80; b <= 0xFF; b++) bytes.Add((byte)b);
        return bytes.ToArray();
    }
}
