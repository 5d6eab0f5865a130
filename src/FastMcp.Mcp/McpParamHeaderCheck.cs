using System.Buffers;
using System.Buffers.Text;
using System.Text.Json;

namespace FastMcp.Mcp;

/// <summary>
/// 2026-07-28 <c>Mcp-Param-{Name}</c> headers: a tool's inputSchema may mark an argument with
/// <c>x-mcp-header</c>, and clients then mirror that argument into a header. Whoever reads such a header must
/// first check it against the body. The caller knows the annotations (from the tool's definition) and passes
/// the argument's property path; this compares one header with the value at that path of
/// <c>params.arguments</c>. Strings compare after base64-sentinel decoding and JSON unescaping, integers
/// numerically (42 equals 42.0), booleans as <c>true</c>/<c>false</c>. Zero allocation for headers up to 1 KiB.
/// </summary>
public static class McpParamHeaderCheck
{
    private const int StackScratch = 768;
    private static readonly JsonReaderOptions ReaderOptions = JsonCursor.Options(McpInspector.MaxDepth);

    /// <summary>
    /// Checks one Mcp-Param header (empty = absent) against <paramref name="propertyPath"/> (the chain of
    /// <c>properties</c> keys, UTF-8) inside the arguments of an inspected tools/call.
    /// </summary>
    public static McpHeaderMismatch Check(in ReadOnlySequence<byte> body, in McpCall call, ReadOnlySpan<byte[]> propertyPath, ReadOnlySpan<byte> header)
    {
        if (propertyPath.IsEmpty)
        {
            throw new ArgumentException("a property path has at least one key", nameof(propertyPath));
        }
        bool headerPresent = !McpHeaderValue.Trim(header).IsEmpty;
        if (!call.HasArguments)
        {
            return headerPresent ? McpHeaderMismatch.ParamMismatch : McpHeaderMismatch.None;
        }
        (int offset, int length) = call.ArgumentsRange.GetOffsetAndLength(checked((int)body.Length));
        var reader = new Utf8JsonReader(body.Slice(offset, length), ReaderOptions);
        try
        {
            if (!reader.Read() || !FindValue(ref reader, propertyPath) || reader.TokenType == JsonTokenType.Null)
            {
                // No value at that path (or null): the client must omit the header.
                return headerPresent ? McpHeaderMismatch.ParamMismatch : McpHeaderMismatch.None;
            }
            if (!headerPresent)
            {
                return McpHeaderMismatch.MissingParamHeader;
            }
            return CompareValue(ref reader, header);
        }
        catch (JsonException)
        {
            return McpHeaderMismatch.ParamMismatch;
        }
        catch (InvalidOperationException)
        {
            return McpHeaderMismatch.ParamMismatch;
        }
    }

    /// <summary>From the arguments object's StartObject, walks the path; on success the reader is on the value's first token.</summary>
    private static bool FindValue(ref Utf8JsonReader reader, ReadOnlySpan<byte[]> path)
    {
        for (int step = 0; step < path.Length; step++)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }
            int depth = reader.CurrentDepth;
            bool found = false;
            while (reader.Read() && !(reader.TokenType == JsonTokenType.EndObject && reader.CurrentDepth == depth))
            {
                if (reader.ValueTextEquals(path[step]))
                {
                    reader.Read();
                    found = true;
                    break;
                }
                reader.Read();
                reader.Skip();
            }
            if (!found)
            {
                return false;
            }
        }
        return true;
    }

    private static McpHeaderMismatch CompareValue(ref Utf8JsonReader reader, ReadOnlySpan<byte> header)
    {
        byte[]? rented = null;
        int needed = McpHeaderValue.MaxDecodedLength(header.Length);
        Span<byte> scratch = needed <= StackScratch ? stackalloc byte[StackScratch] : (rented = ArrayPool<byte>.Shared.Rent(needed));
        try
        {
            McpHeaderValueStatus status = McpHeaderValue.Decode(header, scratch, out ReadOnlySpan<byte> value);
            if (status is McpHeaderValueStatus.Malformed or McpHeaderValueStatus.TooLong)
            {
                return McpHeaderMismatch.MalformedEncodedValue;
            }
            bool equal = reader.TokenType switch
            {
                JsonTokenType.String => reader.ValueTextEquals(value),
                JsonTokenType.True => value.SequenceEqual("true"u8),
                JsonTokenType.False => value.SequenceEqual("false"u8),
                JsonTokenType.Number => NumbersEqual(ref reader, value),
                _ => false, // objects and arrays cannot be mirrored
            };
            return equal ? McpHeaderMismatch.None : McpHeaderMismatch.ParamMismatch;
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    private static bool NumbersEqual(ref Utf8JsonReader reader, scoped ReadOnlySpan<byte> header)
    {
        // Annotated parameters are integers in JavaScript's safe range, which doubles represent exactly.
        return reader.TryGetDouble(out double body)
            && Utf8Parser.TryParse(header, out double mirrored, out int consumed)
            && consumed == header.Length
            && body == mirrored;
    }
}
