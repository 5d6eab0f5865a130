using System.Buffers;
using System.IO.Hashing;
using System.Text.Json;

namespace FastMcp.Mcp;

/// <summary>
/// Finds an object, anywhere in a message, that names the same member twice after JSON unescaping
/// (<c>{"path":"/tmp","p\u0061th":"/etc"}</c>). Parsers disagree on which copy wins: the policy's pointer
/// lookup takes the first, Python's and JavaScript's JSON take the last, so such arguments could be decided on
/// one value and run with the other. Each object's member names are hashed (XxHash3, keyed per process so that
/// collisions cannot be aimed at) and compared when the object ends (pairwise up to 16 names, sorted beyond):
/// O(n log n) whatever an attacker sends, no allocation (the first 64 hashes live on the stack, more in a
/// buffer rented from the shared pool).
/// </summary>
internal static class DuplicateMemberScan
{
    private static readonly long Seed = Random.Shared.NextInt64();
    private static readonly JsonReaderOptions ReaderOptions = JsonCursor.Options(McpInspector.MaxDepth);

    /// <summary>True when some object in <paramref name="json"/> (well-formed JSON) repeats a member name.</summary>
    public static bool HasDuplicate(in ReadOnlySequence<byte> json)
    {
        var reader = new Utf8JsonReader(json, ReaderOptions);
        return Scan(ref reader);
    }

    /// <summary>Span form of <see cref="HasDuplicate(in ReadOnlySequence{byte})"/>.</summary>
    public static bool HasDuplicate(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json, ReaderOptions);
        return Scan(ref reader);
    }

    private static bool Scan(ref Utf8JsonReader reader)
    {
        // Most messages name fewer than 64 members in all: those hashes stay on the stack.
        Span<ulong> hashes = stackalloc ulong[64];
        ulong[]? rented = null;
        // Where each open object's names start in the hash list (objects nest at most MaxDepth deep).
        Span<int> starts = stackalloc int[McpInspector.MaxDepth + 1];
        int depth = -1, count = 0;
        try
        {
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.StartObject:
                        starts[++depth] = count;
                        break;
                    case JsonTokenType.EndObject:
                        if (HasRepeat(hashes[starts[depth]..count])) return true;
                        count = starts[depth--];
                        break;
                    case JsonTokenType.PropertyName:
                        if (count == hashes.Length)
                        {
                            ulong[] larger = ArrayPool<ulong>.Shared.Rent(hashes.Length * 2);
                            hashes.CopyTo(larger);
                            if (rented is not null) ArrayPool<ulong>.Shared.Return(rented);
                            hashes = rented = larger;
                        }
                        hashes[count++] = HashName(ref reader);
                        break;
                }
            }
            return false;
        }
        finally
        {
            if (rented is not null) ArrayPool<ulong>.Shared.Return(rented);
        }
    }

    /// <summary>
    /// Whether two of one object's name hashes are equal: compared pairwise up to 16 names (cheaper than sorting
    /// so few), sorted beyond, so that an object with many names stays O(n log n).
    /// </summary>
    private static bool HasRepeat(Span<ulong> names)
    {
        if (names.Length <= 16)
        {
            for (int i = 1; i < names.Length; i++)
            {
                ulong name = names[i];
                for (int j = 0; j < i; j++)
                {
                    if (names[j] == name) return true;
                }
            }
            return false;
        }
        names.Sort();
        for (int i = 1; i < names.Length; i++)
        {
            if (names[i] == names[i - 1]) return true;
        }
        return false;
    }

    /// <summary>Hash of the unescaped name: <c>"p\u0061th"</c> and <c>"path"</c> hash alike.</summary>
    private static ulong HashName(ref Utf8JsonReader reader)
    {
        if (!reader.ValueIsEscaped && !reader.HasValueSequence) return XxHash3.HashToUInt64(reader.ValueSpan, Seed);
        int length = reader.HasValueSequence ? checked((int)reader.ValueSequence.Length) : reader.ValueSpan.Length;
        byte[]? rented = null;
        Span<byte> buffer = length <= 256 ? stackalloc byte[256] : (rented = ArrayPool<byte>.Shared.Rent(length));
        try
        {
            // Unescaped text is never longer than the escaped token.
            int written = reader.CopyString(buffer);
            return XxHash3.HashToUInt64(buffer[..written], Seed);
        }
        finally
        {
            if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        }
    }
}
