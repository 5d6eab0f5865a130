using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace FastMcp.Pan.Payloads;

/// <summary>
/// The two cheap tests made before a message's member walk (<see cref="Base64Payloads"/>), in one pass over its bytes:
/// whether a blob/data payload could be there (<see cref="Base64Payloads.MightHold"/>) and whether a sensitive member
/// name could be (<see cref="SensitiveMemberNames.MightHold"/>). Each answers exactly what its quote-by-quote reading
/// answers (MemberPreTestDifferentialTests holds this); the bytes are classified 64 at a time into bit masks (quotes,
/// backslashes, name separators, b/d letters, 'u'), so a quote costs a few bit operations instead of a vectorised search
/// to the next one, and only a string that starts like a name and has a name's length is compared with the names.
/// </summary>
internal static class MemberPreTest
{
    private const int BlockSize = 64;

    /// <summary>
    /// <paramref name="payloads"/>: some quote is followed by b or d in either case, or the text holds a \u escape.
    /// <paramref name="members"/> (false when <paramref name="names"/> is null or empty): the text holds a \u escape, or some
    /// quote is followed by a byte a name can start with and the text up to the next quote or backslash either ends at a
    /// backslash or is one of the names (separators and case folded).
    /// </summary>
    [SkipLocalsInit]
    public static void Run(ReadOnlySpan<byte> json, SensitiveMemberNames? names, out bool payloads, out bool members)
    {
        bool wantMembers = names is { IsEmpty: false };
        payloads = members = false;
        // A member answer is final once found, or once a candidate has no quote or backslash after it (none can follow).
        bool membersSettled = !wantMembers;
        Span<byte> tail = stackalloc byte[BlockSize];
        bool quoteBefore = false, backslashBefore = false;
        for (int start = 0; start < json.Length; start += BlockSize)
        {
            Block block = json.Length - start >= BlockSize ? Classify(json.Slice(start, BlockSize)) : ClassifyTail(json[start..], tail);
            ulong backslashU = block.Backslashes & (block.LowerU >> 1) | (backslashBefore ? block.LowerU & 1 : 0);
            if (backslashU != 0)
            {
                payloads = true;
                members = wantMembers;
                return;
            }
            if (!payloads && (block.Quotes & (block.PayloadLetters >> 1) | (quoteBefore ? block.PayloadLetters & 1 : 0)) != 0)
            {
                payloads = true;
                if (membersSettled) return;
            }
            if (!membersSettled && block.Quotes != 0)
            {
                switch (MemberCandidates(json, start, block, names!))
                {
                    case Candidates.Found:
                        members = true;
                        if (payloads) return;
                        membersSettled = true;
                        break;
                    case Candidates.NoneCanFollow:
                        membersSettled = true;
                        break;
                }
            }
            quoteBefore = (block.Quotes >> 63) != 0;
            backslashBefore = (block.Backslashes >> 63) != 0;
        }
    }

    private enum Candidates : byte { NotInBlock, Found, NoneCanFollow }

    /// <summary>The quotes of the block at <paramref name="start"/>, in order, as the sensitive-member reading tests them.</summary>
    private static Candidates MemberCandidates(ReadOnlySpan<byte> json, int start, in Block block, SensitiveMemberNames names)
    {
        ulong stops = block.Quotes | block.Backslashes;
        for (ulong quotes = block.Quotes; quotes != 0; quotes &= quotes - 1)
        {
            int bit = BitOperations.TrailingZeroCount(quotes);
            int first = start + bit + 1;
            if (first >= json.Length) return Candidates.NotInBlock;
            if (!names.CanStart(json[first])) continue;
            // The next quote or backslash at or after the name's first byte ends what is compared.
            ulong after = bit == 63 ? 0 : stops & (ulong.MaxValue << (bit + 1));
            int end;
            // The name's length once its separators are dropped (-1: not counted, past the block).
            int normalized;
            if (after != 0)
            {
                int endBit = BitOperations.TrailingZeroCount(after);
                end = start + endBit;
                ulong separators = block.Separators & ((1UL << endBit) - 1) & (ulong.MaxValue << (bit + 1));
                normalized = end - first - BitOperations.PopCount(separators);
            }
            else
            {
                int from = Math.Min(start + BlockSize, json.Length);
                int next = json[from..].IndexOfAny((byte)'"', (byte)'\\');
                if (next < 0) return Candidates.NoneCanFollow;
                end = from + next;
                normalized = -1;
            }
            if (json[end] == (byte)'\\') return Candidates.Found;
            // A name normalizes to its length less its separators (or to none, not ASCII): a length no name has cannot match.
            if ((normalized < 0 || names.HasLength(normalized)) && names.Matches(json[first..end])) return Candidates.Found;
        }
        return Candidates.NotInBlock;
    }

    /// <summary>Bit i set: byte i of the block is of that class.</summary>
    private struct Block
    {
        public ulong Quotes;
        public ulong Backslashes;
        /// <summary>'_' and '-', which names ignore.</summary>
        public ulong Separators;
        /// <summary>b, B, d and D: a blob or data member's first letter.</summary>
        public ulong PayloadLetters;
        public ulong LowerU;
    }

    /// <summary>The last bytes, fewer than a block: classified as a block padded with zeros (a byte of no class).</summary>
    private static Block ClassifyTail(ReadOnlySpan<byte> rest, Span<byte> padded)
    {
        padded.Clear();
        rest.CopyTo(padded);
        return Classify(padded);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Block Classify(ReadOnlySpan<byte> bytes)
    {
        ref byte origin = ref MemoryMarshal.GetReference(bytes);
        Block block = default;
        if (Vector256.IsHardwareAccelerated)
        {
            Add(ref block, Vector256.LoadUnsafe(ref origin), 0);
            Add(ref block, Vector256.LoadUnsafe(ref origin, 32), 32);
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            for (int k = 0; k < BlockSize; k += 16) Add(ref block, Vector128.LoadUnsafe(ref origin, (nuint)k), k);
        }
        else
        {
            for (int k = 0; k < BlockSize; k++)
            {
                byte b = Unsafe.Add(ref origin, k);
                ulong bit = 1UL << k;
                if (b == (byte)'"') block.Quotes |= bit;
                else if (b == (byte)'\\') block.Backslashes |= bit;
                else if (b is (byte)'_' or (byte)'-') block.Separators |= bit;
                else if ((b | 0x20) is (byte)'b' or (byte)'d') block.PayloadLetters |= bit;
                else if (b == (byte)'u') block.LowerU |= bit;
            }
        }
        return block;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Add(ref Block block, Vector256<byte> v, int shift)
    {
        Vector256<byte> folded = v | Vector256.Create((byte)0x20);
        block.Quotes |= (ulong)Vector256.Equals(v, Vector256.Create((byte)'"')).ExtractMostSignificantBits() << shift;
        block.Backslashes |= (ulong)Vector256.Equals(v, Vector256.Create((byte)'\\')).ExtractMostSignificantBits() << shift;
        block.Separators |= (ulong)(Vector256.Equals(v, Vector256.Create((byte)'_')) | Vector256.Equals(v, Vector256.Create((byte)'-'))).ExtractMostSignificantBits() << shift;
        block.PayloadLetters |= (ulong)(Vector256.Equals(folded, Vector256.Create((byte)'b')) | Vector256.Equals(folded, Vector256.Create((byte)'d'))).ExtractMostSignificantBits() << shift;
        block.LowerU |= (ulong)Vector256.Equals(v, Vector256.Create((byte)'u')).ExtractMostSignificantBits() << shift;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Add(ref Block block, Vector128<byte> v, int shift)
    {
        Vector128<byte> folded = v | Vector128.Create((byte)0x20);
        block.Quotes |= (ulong)Vector128.Equals(v, Vector128.Create((byte)'"')).ExtractMostSignificantBits() << shift;
        block.Backslashes |= (ulong)Vector128.Equals(v, Vector128.Create((byte)'\\')).ExtractMostSignificantBits() << shift;
        block.Separators |= (ulong)(Vector128.Equals(v, Vector128.Create((byte)'_')) | Vector128.Equals(v, Vector128.Create((byte)'-'))).ExtractMostSignificantBits() << shift;
        block.PayloadLetters |= (ulong)(Vector128.Equals(folded, Vector128.Create((byte)'b')) | Vector128.Equals(folded, Vector128.Create((byte)'d'))).ExtractMostSignificantBits() << shift;
        block.LowerU |= (ulong)Vector128.Equals(v, Vector128.Create((byte)'u')).ExtractMostSignificantBits() << shift;
    }
}
