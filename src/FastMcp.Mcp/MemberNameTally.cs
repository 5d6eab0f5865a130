using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.IO.Hashing;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace FastMcp.Mcp;

/// <summary>
/// The member names of every object a walk over a message has open, hashed as their tokens pass, for the rule of
/// <see cref="DuplicateMemberScan"/>: the walk hands it each token it reads (<see cref="Observe"/>), so the readers that
/// walk a message anyway check the rule in that same walk, and the standalone scan is just a walk that does nothing
/// else. Each name is unescaped, folded when <c>fold</c> (<see cref="MemberNameFold"/>) and hashed with XxHash3 keyed per
/// process (collisions cannot be aimed at); an object's hashes are compared when it ends (pairwise up to 16 names,
/// sorted beyond: O(n log n) whatever an attacker sends). No allocation: the first 64 hashes live in the tally itself,
/// more in a buffer rented from the shared pool, returned by <see cref="Dispose"/>. Once a clash is found the tally
/// stops looking (the message will be refused; the walk goes on for its own checks).
/// </summary>
internal struct MemberNameTally
{
    private const int InlineHashes = 64;
    private const int StackNameBytes = 256;
    internal static readonly long Seed = Random.Shared.NextInt64();

    private InlineHashList _inline;
    // Where each open object's names start in the hash list. The readers refuse objects deeper than MaxDepth before
    // the tally sees them; the standalone scan's reader allows two more levels, and deeper still is a clash.
    private ObjectStarts _starts;
    private ulong[]? _rented;
    private int _depth, _count;
    private readonly bool _fold;
    private bool _stopped;

    /// <summary>A tally that folds names (<paramref name="fold"/>: a case variant clashes) or compares them exactly.</summary>
    public MemberNameTally(bool fold)
    {
        _fold = fold;
        _depth = -1;
    }

    /// <summary>A tally that looks at nothing (for a walk whose names are checked elsewhere).</summary>
    public static MemberNameTally Idle() => new(fold: false) { _stopped = true };

    /// <summary>
    /// True when some object repeated a name (folded or exact, as constructed), or held a name that cannot be folded
    /// (a control character): the message must be refused.
    /// </summary>
    public bool Clashed { readonly get; private set; }

    /// <summary>Takes the token the walk's reader is on (every token of the message, in order, from its first).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Observe(ref Utf8JsonReader reader)
    {
        if (_stopped) return;
        switch (reader.TokenType)
        {
            case JsonTokenType.StartObject:
                Open();
                break;
            case JsonTokenType.EndObject:
                Close();
                break;
            case JsonTokenType.PropertyName:
                Add(ref reader);
                break;
        }
    }

    /// <summary>Returns the rented hash buffer, if any.</summary>
    public void Dispose()
    {
        if (_rented is null) return;
        ArrayPool<ulong>.Shared.Return(_rented);
        _rented = null;
    }

    private void Open()
    {
        Span<int> starts = _starts;
        if (_depth + 1 == starts.Length)
        {
            Stop();
            return;
        }
        starts[++_depth] = _count;
    }

    private void Close()
    {
        // An end with no start seen: the tally was not handed the walk from its first token. Nothing is known: refused.
        if (_depth < 0)
        {
            Stop();
            return;
        }
        Span<int> starts = _starts;
        int start = starts[_depth--];
        if (HasRepeat(Hashes[start.._count]))
        {
            Stop();
            return;
        }
        _count = start;
    }

    private void Add(ref Utf8JsonReader reader)
    {
        Span<ulong> hashes = Hashes;
        if (_count == hashes.Length)
        {
            ulong[] larger = ArrayPool<ulong>.Shared.Rent(hashes.Length * 2);
            hashes.CopyTo(larger);
            if (_rented is not null) ArrayPool<ulong>.Shared.Return(_rented);
            _rented = larger;
            hashes = larger;
        }
        // A name that cannot be folded is not compared: the message is refused instead (fail closed).
        if (!TryHashName(ref reader, _fold, out hashes[_count++])) Stop();
    }

    private void Stop()
    {
        Clashed = true;
        _stopped = true;
    }

    [UnscopedRef]
    private Span<ulong> Hashes => _rented is not null ? _rented : _inline;

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
    /// alike, and folded so do <c>"Path"</c> and <c>"PATH"</c>. False when the name cannot be folded (a control
    /// character; not UTF-8, which the readers have ruled out): the message is then refused.
    /// </summary>
    internal static bool TryHashName(ref Utf8JsonReader reader, bool fold, out ulong hash)
    {
        if (!reader.ValueIsEscaped && !reader.HasValueSequence)
        {
            ReadOnlySpan<byte> name = reader.ValueSpan;
            if (!fold)
            {
                hash = XxHash3.HashToUInt64(name, Seed);
                return true;
            }
            if (name.Length <= ShortAsciiName && BitConverter.IsLittleEndian && TryHashShortAscii(name, out hash)) return true;
        }
        return TryHashNameSlow(ref reader, fold, out hash);
    }

    /// <summary>Names up to this length, unescaped in one segment, are folded by <see cref="TryHashShortAscii"/> first.</summary>
    private const int ShortAsciiName = 32;

    private const ulong High = 0x8080_8080_8080_8080, Ones = 0x0101_0101_0101_0101;

    /// <summary>
    /// The hash <see cref="TryHashNameSlow"/> gives a short name of printable ASCII (nearly every member name), folded
    /// eight bytes at a time: the same folded bytes (A-Z to a-z) into the same XxHash3, without the slow path's
    /// unescape buffer, its try/finally or its byte-by-byte fold (issue #14: ~270 instructions per name). False, nothing
    /// decided, for any other byte (a control character, DEL, non-ASCII): the slow path then reads the name as before.
    /// </summary>
    [SkipLocalsInit]
    private static bool TryHashShortAscii(ReadOnlySpan<byte> name, out ulong hash)
    {
        Span<byte> folded = stackalloc byte[ShortAsciiName];
        ref byte from = ref MemoryMarshal.GetReference(name);
        ref byte to = ref MemoryMarshal.GetReference(folded);
        int length = name.Length;
        ulong bad;
        if (length < 8)
        {
            // The name's bytes in one word, the rest zero: overlapping reads put the same byte at the same place.
            ulong word = 0;
            if (length >= 4)
            {
                word = Unsafe.ReadUnaligned<uint>(ref from) | (ulong)Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref from, length - 4)) << (8 * (length - 4));
            }
            else if (length > 0)
            {
                word = from | (ulong)Unsafe.Add(ref from, length / 2) << (8 * (length / 2)) | (ulong)Unsafe.Add(ref from, length - 1) << (8 * (length - 1));
            }
            // The zero padding would read as control characters: only the name's bytes are judged.
            bad = Unprintable(word) & ((1UL << (8 * length)) - 1);
            Unsafe.WriteUnaligned(ref to, Lower(word));
        }
        else
        {
            // Whole words, then the last eight bytes (overlapping the word before: the same bytes fold alike).
            bad = 0;
            for (int i = 0; i < length - 8; i += 8)
            {
                ulong word = Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref from, i));
                bad |= Unprintable(word);
                Unsafe.WriteUnaligned(ref Unsafe.Add(ref to, i), Lower(word));
            }
            ulong last = Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref from, length - 8));
            bad |= Unprintable(last);
            Unsafe.WriteUnaligned(ref Unsafe.Add(ref to, length - 8), Lower(last));
        }
        if (bad != 0)
        {
            hash = 0;
            return false;
        }
        hash = XxHash3.HashToUInt64(folded[..length], Seed);
        return true;
    }

    /// <summary>
    /// The high bit of each byte that is not printable ASCII (below 0x20, 0x7F, 0x80 and up). Once a byte is 0x80 or more,
    /// a carry may spoil its neighbours' bits, but then the word is refused anyway.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Unprintable(ulong word) => (word | ~(word + 0x60 * Ones) | (word + Ones)) & High;

    /// <summary>Each byte A-Z (0x41-0x5A) with 0x20 set; every other byte below 0x80 as it is.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Lower(ulong word) => word | (((word + 0x3F * Ones) & ~(word + 0x25 * Ones) & High) >> 2);

    /// <summary>The hash of any name: unescaped into a buffer when it must be, folded by <see cref="MemberNameFold.TryFold"/>.</summary>
    [SkipLocalsInit]
    private static bool TryHashNameSlow(ref Utf8JsonReader reader, bool fold, out ulong hash)
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
            int length = plain ? 0 : JsonCursor.ValueLength(ref reader);
            Span<byte> unescaped = length <= StackNameBytes ? stackalloc byte[StackNameBytes] : (rentedName = ArrayPool<byte>.Shared.Rent(length));
            // Unescaped text is never longer than the escaped token.
            ReadOnlySpan<byte> name = plain ? reader.ValueSpan : unescaped[..reader.CopyString(unescaped)];
            if (!fold)
            {
                hash = XxHash3.HashToUInt64(name, Seed);
                return true;
            }
            // A fold is at most 1.5 times as long as its name (a 2-byte character can fold to a 3-byte one).
            int room = name.Length * 2;
            Span<byte> folded = room <= StackNameBytes ? stackalloc byte[StackNameBytes] : (rentedFold = ArrayPool<byte>.Shared.Rent(room));
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

    [InlineArray(InlineHashes)]
    private struct InlineHashList
    {
        private ulong _first;
    }

    [InlineArray(McpInspector.MaxDepth + 2)]
    private struct ObjectStarts
    {
        private int _first;
    }
}
