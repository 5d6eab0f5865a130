using System.Buffers;
using System.Runtime.CompilerServices;
using System.Text.Json;

namespace FastMcp.Mcp;

/// <summary>
/// Whether the member name a reader is on, which the caller found is none of the names it reads, is still one of
/// them to some peer: it folds to one (<c>"METHOD"</c>, <c>"Name"</c>, <c>"paramſ"</c>; Go's encoding/json matches
/// names so, the last match winning), or it holds a control character (<c>"method\u0000"</c>, which segmentio/encoding
/// matched to <c>"method"</c>), so nothing says what a peer makes of it. Either way the gateway would decide on one
/// member and the peer act on another: the readers refuse the message.
/// </summary>
internal static class MemberNameVariant
{
    /// <summary>
    /// True when the current PropertyName may be read as one of <paramref name="folded"/> (names from
    /// <see cref="FoldedMemberNames"/>). No allocation: an escaped name is unescaped on the stack (a pooled buffer
    /// past 512 bytes).
    /// </summary>
    [SkipLocalsInit]
    public static bool MayBeReadAs(ref Utf8JsonReader reader, byte[][] folded)
    {
        if (!reader.ValueIsEscaped && !reader.HasValueSequence)
        {
            return MayBeReadAs(reader.ValueSpan, folded);
        }
        int length = reader.HasValueSequence ? checked((int)reader.ValueSequence.Length) : reader.ValueSpan.Length;
        byte[]? rented = null;
        try
        {
            Span<byte> buffer = length <= 512 ? stackalloc byte[512] : (rented = ArrayPool<byte>.Shared.Rent(length));
            // Unescaped text is never longer than the escaped token.
            return MayBeReadAs(buffer[..reader.CopyString(buffer)], folded);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>
    /// True when the current PropertyName holds a control character once unescaped (<c>"a\u0009b"</c>, or U+007F, which
    /// JSON allows raw). For naming why a message was refused, after the fact.
    /// </summary>
    public static bool HoldsControlCharacter(ref Utf8JsonReader reader) =>
        // With no names to fold to, only the control-character half of the test is left.
        MayBeReadAs(ref reader, []);

    private static bool MayBeReadAs(ReadOnlySpan<byte> name, byte[][] folded) =>
        MemberNameFold.HasControlCharacter(name) || MemberNameFold.FoldsToAny(name, folded);
}
