using System.Buffers;
using System.Globalization;
using System.Text.Json;

namespace FastMcp.Mcp;

/// <summary>
/// JSON-RPC batches (MCP 2025-03-26 only; removed in 2025-06-18): a top-level array whose members are messages
/// in their own right. This finds the members so each one can be viewed with <see cref="McpInspector"/> (or
/// <see cref="McpResponseInspector"/> for answers) on its own slice, and compares ids the way the peers do, so an
/// answer can be matched to the member it answers. Zero allocation.
/// </summary>
public static class McpBatch
{
    /// <summary>Most members a batch may hold; larger batches are refused (each member costs a decision and an audit record).</summary>
    public const int MaxMembers = 100;

    private const int StackIdBytes = 256;
    private static readonly JsonReaderOptions ReaderOptions = JsonCursor.Options(McpInspector.MaxDepth);

    /// <summary>
    /// Writes the byte range of each member of the array in <paramref name="json"/> (offsets from its start) into
    /// <paramref name="members"/>, in order. The whole input is validated (UTF-8, JSON, nesting depth). Members are
    /// not looked into: a member that is not an object is still located, and its own inspection refuses it.
    /// </summary>
    public static McpBatchError LocateMembers(in ReadOnlySequence<byte> json, Span<Range> members, out int count)
    {
        count = 0;
        if (json.Length > int.MaxValue || !Utf8Check.IsValid(json))
        {
            return McpBatchError.InvalidJson;
        }
        var reader = new Utf8JsonReader(json, ReaderOptions);
        try
        {
            if (JsonCursor.Next(ref reader, McpInspector.MaxDepth) != McpInspectError.None || reader.TokenType != JsonTokenType.StartArray)
            {
                return McpBatchError.NotAnArray;
            }
            while (true)
            {
                if (JsonCursor.Next(ref reader, McpInspector.MaxDepth) != McpInspectError.None)
                {
                    return McpBatchError.InvalidJson;
                }
                if (reader.TokenType == JsonTokenType.EndArray)
                {
                    break;
                }
                int start = checked((int)reader.TokenStartIndex);
                if (JsonCursor.SkipValue(ref reader, McpInspector.MaxDepth) != McpInspectError.None)
                {
                    return McpBatchError.InvalidJson;
                }
                if (count == members.Length || count == MaxMembers)
                {
                    return McpBatchError.TooManyMembers;
                }
                members[count++] = new Range(start, checked((int)reader.BytesConsumed));
            }
            if (reader.Read())
            {
                return McpBatchError.InvalidJson;
            }
        }
        catch (JsonException)
        {
            return McpBatchError.InvalidJson;
        }
        catch (InvalidOperationException)
        {
            return McpBatchError.InvalidJson;
        }
        return count == 0 ? McpBatchError.Empty : McpBatchError.None;
    }

    /// <summary>Span form of <see cref="LocateMembers(in ReadOnlySequence{byte}, Span{Range}, out int)"/>.</summary>
    public static McpBatchError LocateMembers(ReadOnlyMemory<byte> json, Span<Range> members, out int count) =>
        LocateMembers(new ReadOnlySequence<byte>(json), members, out count);

    /// <summary>
    /// True when two raw id tokens (string with quotes, or number) name the same request for a JavaScript peer:
    /// strings equal after unescaping (<c>"a"</c> and <c>"\u0061"</c>), numbers equal as IEEE doubles (<c>1</c>
    /// and <c>1.0</c>, and integers past 2^53 that round together). A string never equals a number.
    /// </summary>
    public static bool SameId(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        if (a.IsEmpty || b.IsEmpty)
        {
            return false;
        }
        bool aString = a[0] == (byte)'"', bString = b[0] == (byte)'"';
        if (aString != bString)
        {
            return false;
        }
        if (!aString)
        {
            return double.TryParse(a, NumberStyles.Float, CultureInfo.InvariantCulture, out double x)
                && double.TryParse(b, NumberStyles.Float, CultureInfo.InvariantCulture, out double y)
                && x == y;
        }
        if (a.IndexOf((byte)'\\') < 0 && b.IndexOf((byte)'\\') < 0)
        {
            return a.SequenceEqual(b);
        }
        byte[]? rented = null;
        int needed = a.Length + b.Length;
        Span<byte> scratch = needed <= StackIdBytes ? stackalloc byte[StackIdBytes] : (rented = ArrayPool<byte>.Shared.Rent(needed));
        try
        {
            int na = McpInspector.CopyUnescaped(a, 0..a.Length, scratch[..a.Length]);
            int nb = McpInspector.CopyUnescaped(b, 0..b.Length, scratch.Slice(a.Length, b.Length));
            return na >= 0 && nb >= 0 && scratch[..na].SequenceEqual(scratch.Slice(a.Length, nb));
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }
}
