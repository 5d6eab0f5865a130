using System.Buffers;
using System.Text;

namespace FastMcp.Mcp;

/// <summary>
/// Member names as a case-insensitive decoder matches them. Go's encoding/json fills a struct field from any member
/// whose name equals the field's under Unicode simple case folding (so U+017F 'ſ' matches 's' and U+212A KELVIN SIGN
/// matches 'k'), the last such member winning; other decoders (Jackson's case-insensitive mode, .NET's
/// PropertyNameCaseInsensitive) do likewise. Two names with the same fold are one member to such a peer. The fold
/// here: ASCII letters to lower case, ſ to s, K to k, any other character to the lower case of its upper case
/// (invariant), which puts every simple-fold orbit the gateway could meet on one character (or errs toward folding
/// more, which only refuses more). Public: the policy's argument pointers (FastMcp.Policy) fold with it too.
/// </summary>
public static class MemberNameFold
{
    /// <summary>
    /// Writes the fold of the UTF-8 <paramref name="name"/> (valid UTF-8) into <paramref name="destination"/>.
    /// False when it does not fit (a fold can be longer than its name: U+023A, 2 bytes, folds to U+2C65, 3) or the
    /// name holds a control character (U+0000-U+001F, U+007F).
    /// </summary>
    public static bool TryFold(ReadOnlySpan<byte> name, Span<byte> destination, out int written)
    {
        if (name.Length <= ShortName && name.Length <= destination.Length && TryFoldShortAscii(name, destination, out written)) return true;
        written = 0;
        // A name with a control character (only reachable escaped, "method\u0000") is not folded: some decoders drop
        // or ignore such characters when matching names (segmentio/encoding, as used by go-sdk 1.3.1-1.4.0, took
        // "method\u0000" for "method"), so no fold can say what such a peer would match it to. Refused.
        if (HasControlCharacter(name)) return false;
        // ASCII, nearly every name: one vectorised pass; it stops at the first other byte, where the slow path goes on.
        OperationStatus status = Ascii.ToLower(name, destination, out written);
        if (status == OperationStatus.Done) return true;
        if (status == OperationStatus.DestinationTooSmall) return false;
        ReadOnlySpan<byte> rest = name[written..];
        while (!rest.IsEmpty)
        {
            if (Rune.DecodeFromUtf8(rest, out Rune rune, out int consumed) != OperationStatus.Done) return false;
            rest = rest[consumed..];
            if (!Fold(rune).TryEncodeToUtf8(destination[written..], out int n)) return false;
            written += n;
        }
        return true;
    }

    /// <summary>Names up to this length (most member names) are first folded by <see cref="TryFoldShortAscii"/>.</summary>
    private const int ShortName = 32;

    /// <summary>
    /// <see cref="TryFold"/> for a short name that fits: one pass byte by byte, cheaper than its three vectorised passes
    /// for so few bytes. False, nothing decided, when the name holds a byte it does not fold itself (a control character
    /// or non-ASCII): <see cref="TryFold"/> then reads the name as before.
    /// </summary>
    private static bool TryFoldShortAscii(ReadOnlySpan<byte> name, Span<byte> destination, out int written)
    {
        for (int i = 0; i < name.Length; i++)
        {
            byte b = name[i];
            if (b < 0x20 || b >= 0x7F)
            {
                written = 0;
                return false;
            }
            destination[i] = (uint)(b - 'A') <= 'Z' - 'A' ? (byte)(b | 0x20) : b;
        }
        written = name.Length;
        return true;
    }

    /// <summary>True when the UTF-8 <paramref name="name"/> holds U+0000-U+001F or U+007F: such a name has no fold.</summary>
    public static bool HasControlCharacter(ReadOnlySpan<byte> name) =>
        name.IndexOfAnyInRange((byte)0x00, (byte)0x1F) >= 0 || name.Contains((byte)0x7F);

    /// <summary>
    /// True when a case-insensitive decoder may read the UTF-8 <paramref name="name"/> as the member whose fold is
    /// <paramref name="folded"/> (from <see cref="TryFold"/>): their folds are equal, or <paramref name="name"/> has
    /// none (a control character, invalid UTF-8), so nothing says what such a decoder makes of it. Compares rune by
    /// rune without a buffer, so neither length is bounded.
    /// </summary>
    public static bool MayReadAs(ReadOnlySpan<byte> name, ReadOnlySpan<byte> folded)
    {
        if (HasControlCharacter(name)) return true;
        // An ASCII name folds byte for byte to ASCII: a fold holding anything else differs.
        if (Ascii.IsValid(name)) return name.Length == folded.Length && Ascii.EqualsIgnoreCase(name, folded);
        while (!name.IsEmpty)
        {
            if (Rune.DecodeFromUtf8(name, out Rune rune, out int consumed) != OperationStatus.Done) return true;
            name = name[consumed..];
            if (Rune.DecodeFromUtf8(folded, out Rune expected, out int length) != OperationStatus.Done || Fold(rune) != expected) return false;
            folded = folded[length..];
        }
        return folded.IsEmpty;
    }

    private static Rune Fold(Rune rune)
    {
        if (rune.IsAscii) return Rune.ToLowerInvariant(rune);
        if (rune.Value == 0x017F) return new Rune('s');   // LATIN SMALL LETTER LONG S
        if (rune.Value == 0x212A) return new Rune('k');   // KELVIN SIGN
        return Rune.ToLowerInvariant(Rune.ToUpperInvariant(rune));
    }

    /// <summary>
    /// True when the UTF-8 <paramref name="name"/> folds to one of <paramref name="folded"/> (names already folded,
    /// none longer than <see cref="MaxTargetLength"/>). The caller has found the name is not exactly one of them.
    /// </summary>
    public static bool FoldsToAny(ReadOnlySpan<byte> name, ReadOnlySpan<byte[]> folded)
    {
        if (Ascii.IsValid(name))
        {
            // An ASCII name folds byte for byte: only a target of its length can match, and no copy is needed.
            foreach (byte[] target in folded)
            {
                if (target.Length == name.Length && Ascii.EqualsIgnoreCase(name, target)) return true;
            }
            return false;
        }
        Span<byte> buffer = stackalloc byte[MaxTargetLength];
        // A fold that does not fit is longer than every target.
        if (!TryFold(name, buffer, out int written)) return false;
        ReadOnlySpan<byte> fold = buffer[..written];
        foreach (byte[] target in folded)
        {
            if (fold.SequenceEqual(target)) return true;
        }
        return false;
    }

    /// <summary>The longest name <see cref="FoldsToAny"/> compares with (io.modelcontextprotocol/protocolVersion is 39 bytes).</summary>
    public const int MaxTargetLength = 64;
}
