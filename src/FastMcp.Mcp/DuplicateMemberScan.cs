using System.Buffers;
using System.IO.Hashing;
using System.Runtime.CompilerServices;
using System.Text.Json;

namespace FastMcp.Mcp;

/// <summary>
/// Finds an object, anywhere in a message, that names the same member twice after JSON unescaping
/// (<c>{"path":"/tmp","p\u0061th":"/etc"}</c>) or names two members that differ only in letter case
/// (<c>{"path":"/tmp","Path":"/etc"}</c>). Parsers disagree on which copy wins: the policy's pointer lookup takes
/// the first exact one, Python's and JavaScript's JSON take the last, Go's encoding/json fills a struct field from
/// the last name that matches it ignoring case (<see cref="MemberNameFold"/>), so such arguments could be decided
/// on one value and run with the other. Each object's member names are folded, hashed (XxHash3, keyed per process
/// so that collisions cannot be aimed at) and compared when the object ends (pairwise up to 16 names, sorted
/// beyond): O(n log n) whatever an attacker sends, no allocation (the first 64 hashes live on the stack, more in a
/// buffer rented from the shared pool; an ASCII name is lowered into a stack buffer before it is hashed).
/// </summary>
internal static class DuplicateMemberScan
{
    private static readonly long Seed = Random.Shared.NextInt64();
    private static readonly JsonReaderOptions ReaderOptions = JsonCursor.Options(McpInspector.MaxDepth);

    /// <summary>
    /// Whether some object in <paramref name="json"/> (well-formed JSON) repeats a member name, exactly or only
    /// apart from letter case.
    /// </summary>
    public static MemberNameClash Find(in ReadOnlySequence<byte> json)
    {
        var folded = new Utf8JsonReader(json, ReaderOptions);
        if (!Scan(ref folded, fold: true)) return MemberNameClash.None;
        // Only a message about to be refused is read twice: to say which of the two it is.
        var exact = new Utf8JsonReader(json, ReaderOptions);
        return Scan(ref exact, fold: false) ? MemberNameClash.Duplicate : MemberNameClash.CaseVariant;
    }

    /// <summary>Span form of <see cref="Find(in ReadOnlySequence{byte})"/>.</summary>
    public static MemberNameClash Find(ReadOnlySpan<byte> json)
    {
        var folded = new Utf8JsonReader(json, ReaderOptions);
        if (!Scan(ref folded, fold: true)) return MemberNameClash.None;
        var exact = new Utf8JsonReader(json, ReaderOptions);
        return Scan(ref exact, fold: false) ? MemberNameClash.Duplicate : MemberNameClash.CaseVariant;
    }

    private static bool Scan(ref Utf8JsonReader reader, bool fold)
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
                        // A name that cannot be folded is not compared: the message is refused instead (fail closed).
                        if (!TryHashName(ref reader, fold, out hashes[count++])) return true;
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

    /// <summary>
    /// Hash of the unescaped name, folded when <paramref name="fold"/>: <c>"p\u0061th"</c> and <c>"path"</c> hash
    /// alike, and folded so do <c>"Path"</c> and <c>"PATH"</c>. False when the name cannot be folded (not UTF-8,
    /// which the inspector has ruled out): the caller then refuses the message.
    /// </summary>
    [SkipLocalsInit]
    private static bool TryHashName(ref Utf8JsonReader reader, bool fold, out ulong hash)
    {
        bool plain = !reader.ValueIsEscaped && !reader.HasValueSequence;
        if (plain && !fold)
        {
            hash = XxHash3.HashToUInt64(reader.ValueSpan, Seed);
            return true;
        }
        byte[]? rentedName = null, rentedFold = null;
        try
        {
            int length = plain ? 0 : reader.HasValueSequence ? checked((int)reader.ValueSequence.Length) : reader.ValueSpan.Length;
            Span<byte> unescaped = length <= 256 ? stackalloc byte[256] : (rentedName = ArrayPool<byte>.Shared.Rent(length));
            // Unescaped text is never longer than the escaped token.
            ReadOnlySpan<byte> name = plain ? reader.ValueSpan : unescaped[..reader.CopyString(unescaped)];
            if (!fold)
            {
                hash = XxHash3.HashToUInt64(name, Seed);
                return true;
            }
            // A fold is at most 1.5 times as long as its name (a 2-byte character can fold to a 3-byte one).
            int room = name.Length * 2;
            Span<byte> folded = room <= 256 ? stackalloc byte[256] : (rentedFold = ArrayPool<byte>.Shared.Rent(room));
            if (!MemberNameFold.TryFold(name, folded, out int written))
            {
                hash = 0;
                return false;
            }
            hash = XxHash3.HashToUInt64(folded[..written], Seed);
            return true;
        }
        finally
        {
            if (rentedName is not null) ArrayPool<byte>.Shared.Return(rentedName);
            if (rentedFold is not null) ArrayPool<byte>.Shared.Return(rentedFold);
        }
    }
}
