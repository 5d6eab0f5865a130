using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using FastMcp.Pan.Scanning;

namespace FastMcp.Pan;

/// <summary>
/// Finds payment card numbers (PANs) in UTF-8 text or JSON and masks them in place, same length, keeping at most
/// the first 6 (or 8) and last 4 digits (PCI DSS 3.4.1), and reports each with a keyed HMAC-SHA-256 fingerprint
/// (PCI DSS 3.5.1.1). Immutable and thread-safe: create one per configuration and share it.
/// </summary>
public sealed class PanMasker
{
    /// <summary>Bytes in a fingerprint (HMAC-SHA-256).</summary>
    public const int FingerprintLength = 32;

    /// <summary>Shortest fingerprint key accepted: 128 bits, the minimum effective strength PCI DSS 3.5.1.1 asks for.</summary>
    public const int MinKeyLength = 16;

    private readonly byte[] _key;
    private readonly int _keepFirst;
    private readonly int _keepLast;
    private readonly byte _maskByte;
    /// <summary>The mask byte as a JSON escape, written over a digit that was itself a 6-byte escape.</summary>
    private readonly EscapedMask _escapedMask;
    /// <summary>The mask byte's fullwidth form in UTF-8 ('*' gives U+FF0A), written over a 3-byte fullwidth or Devanagari digit.</summary>
    private readonly FullwidthMask _fullwidthMask;

    public PanMasker(PanMaskingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.KeepFirst is not (0 or 6 or 8))
            throw new ArgumentException("KeepFirst must be 0, 6 or 8 (PCI DSS 3.4.1 allows at most the BIN).", nameof(options));
        if (options.KeepLast is < 0 or > 4)
            throw new ArgumentException("KeepLast must be between 0 and 4 (PCI DSS 3.4.1).", nameof(options));
        byte mask = options.MaskByte;
        if (mask is < 0x21 or > 0x7E || ByteClass.Of(mask) is CharKind.Digit or CharKind.Dash || mask is (byte)'"' or (byte)'\\')
            throw new ArgumentException("MaskByte must be printable ASCII and not a digit, space, dash, quote or backslash, so masked JSON stays valid.", nameof(options));
        ComputesFingerprints = options.ComputeFingerprints;
        if (ComputesFingerprints)
        {
            if (options.FingerprintKey is null || options.FingerprintKey.Length < MinKeyLength)
                throw new ArgumentException($"FingerprintKey must be at least {MinKeyLength} bytes (PCI DSS 3.5.1.1 keyed hash).", nameof(options));
            _key = (byte[])options.FingerprintKey.Clone();
        }
        else
        {
            _key = [];
        }
        SensitiveMembers = new SensitiveMemberNames(options.SensitiveMembers);
        _keepFirst = options.KeepFirst;
        _keepLast = options.KeepLast;
        _maskByte = mask;
        Span<byte> escaped = _escapedMask;
        "\\u00"u8.CopyTo(escaped);
        escaped[4] = HexDigit(mask >> 4);
        escaped[5] = HexDigit(mask & 0xF);
        FullwidthForms.EncodeAscii(mask, _fullwidthMask);
    }

    /// <summary>Leading digits kept (0, 6 or 8).</summary>
    public int KeepFirst => _keepFirst;

    /// <summary>Trailing digits kept (0 to 4).</summary>
    public int KeepLast => _keepLast;

    /// <summary>Members whose value is a card security code or PIN, masked whole in JSON (<see cref="Payloads.Base64Payloads"/> walks them).</summary>
    public SensitiveMemberNames SensitiveMembers { get; }

    /// <summary>The mask byte, written over every byte of a sensitive member's string value.</summary>
    public byte MaskByte => _maskByte;

    /// <summary>Whether finds carry a keyed fingerprint.</summary>
    public bool ComputesFingerprints { get; }

    /// <summary>Masks in place every card number in a complete message; returns how many. Allocates nothing.</summary>
    public int MaskInPlace(Span<byte> utf8)
    {
        NoSink sink = default;
        return MaskInPlace(utf8, ref sink);
    }

    /// <summary>Masks in place every card number in a complete message and reports each to <paramref name="sink"/>.</summary>
    [SkipLocalsInit]
    public int MaskInPlace<TSink>(Span<byte> utf8, ref TSink sink) where TSink : IPanFindingSink
    {
        if (CardlessText.Is(utf8)) return 0;
        Unsafe.SkipInit(out ScanState state);
        state.Reset();
        SpanMaskWriter writer = new(utf8, 0);
        PanScanner.Feed(ref state, utf8, 0, this, ref writer, ref sink);
        PanScanner.Finish(ref state, this, ref writer, ref sink);
        return (int)state.Found;
    }

    /// <summary>
    /// Masks a multi-segment sequence whose memory is writable (pipe buffers, owned arrays); card numbers spanning
    /// segment boundaries are found and masked across the boundary. Returns how many were masked.
    /// </summary>
    public int MaskInPlace(in ReadOnlySequence<byte> utf8)
    {
        NoSink sink = default;
        return MaskInPlace(utf8, ref sink);
    }

    /// <inheritdoc cref="MaskInPlace(in ReadOnlySequence{byte})"/>
    public int MaskInPlace<TSink>(in ReadOnlySequence<byte> utf8, ref TSink sink) where TSink : IPanFindingSink =>
        MaskSequence(utf8, ref sink, keepBareNumbers: false, out _);

    /// <summary>
    /// Like <see cref="MaskInPlace{TSink}(in ReadOnlySequence{byte}, ref TSink)"/>, except that card numbers written as
    /// bare JSON numbers (outside any string) are found, counted and reported to <paramref name="sink"/> with their
    /// fingerprint but left as they are: rewriting a number changes its value (an id, an amount), not only its
    /// spelling. <paramref name="keptNumbers"/> says how many were left; the return value counts every find.
    /// </summary>
    public int MaskStringsInPlace<TSink>(in ReadOnlySequence<byte> utf8, ref TSink sink, out int keptNumbers) where TSink : IPanFindingSink =>
        MaskSequence(utf8, ref sink, keepBareNumbers: true, out keptNumbers);

    [SkipLocalsInit]
    private int MaskSequence<TSink>(in ReadOnlySequence<byte> utf8, ref TSink sink, bool keepBareNumbers, out int keptNumbers) where TSink : IPanFindingSink
    {
        Unsafe.SkipInit(out ScanState state);
        state.Reset();
        state.KeepBareNumbers = keepBareNumbers;
        if (utf8.IsSingleSegment)
        {
            Span<byte> span = MemoryMarshal.AsMemory(utf8.First).Span;
            if (CardlessText.Is(span))
            {
                keptNumbers = 0;
                return 0;
            }
            SpanMaskWriter spanWriter = new(span, 0);
            PanScanner.Feed(ref state, span, 0, this, ref spanWriter, ref sink);
            PanScanner.Finish(ref state, this, ref spanWriter, ref sink);
        }
        else
        {
            SequenceMaskWriter writer = new(utf8);
            long offset = 0;
            foreach (ReadOnlyMemory<byte> segment in utf8)
            {
                PanScanner.Feed(ref state, segment.Span, offset, this, ref writer, ref sink);
                offset += segment.Length;
            }
            PanScanner.Finish(ref state, this, ref writer, ref sink);
        }
        keptNumbers = (int)state.KeptNumbers;
        return (int)state.Found;
    }

    /// <summary>
    /// Masks in place every card number in text that is not JSON: an HTTP header value, a log line, a decoded JSON
    /// string. No number there is a JSON number, so every masked digit becomes the mask byte.
    /// </summary>
    public int MaskTextInPlace(Span<byte> utf8)
    {
        NoSink sink = default;
        return MaskTextInPlace(utf8, ref sink);
    }

    /// <inheritdoc cref="MaskTextInPlace(Span{byte})"/>
    [SkipLocalsInit]
    public int MaskTextInPlace<TSink>(Span<byte> utf8, ref TSink sink) where TSink : IPanFindingSink
    {
        if (CardlessText.Is(utf8)) return 0;
        Unsafe.SkipInit(out ScanState state);
        state.Reset();
        state.PlainText = true;
        SpanMaskWriter writer = new(utf8, 0);
        PanScanner.Feed(ref state, utf8, 0, this, ref writer, ref sink);
        PanScanner.Finish(ref state, this, ref writer, ref sink);
        return (int)state.Found;
    }

    /// <summary>True when at least one card number is present (the policy predicate "contains a card number").</summary>
    [SkipLocalsInit]
    public static bool ContainsCardNumber(ReadOnlySpan<byte> utf8) => CountCardNumbers(utf8) > 0;

    /// <summary>How many card numbers are present, without changing anything.</summary>
    [SkipLocalsInit]
    public static int CountCardNumbers(ReadOnlySpan<byte> utf8)
    {
        Unsafe.SkipInit(out ScanState state);
        NoSink sink = default;
        ScanWithoutWriting(ref state, utf8, ref sink);
        return (int)state.Found;
    }

    /// <summary>
    /// True when track 1 or track 2 data follows a card number (what masking blanks as <see cref="SensitiveDataKind.Track"/>):
    /// the track half of the policy predicate "contains sensitive data".
    /// </summary>
    [SkipLocalsInit]
    public static bool ContainsTrackData(ReadOnlySpan<byte> utf8)
    {
        Unsafe.SkipInit(out ScanState state);
        NoSink sink = default;
        ScanWithoutWriting(ref state, utf8, ref sink);
        return state.Tracks > 0;
    }

    /// <summary>Reports every card number present to <paramref name="sink"/> without changing anything; fingerprints are empty.</summary>
    [SkipLocalsInit]
    public static int FindCardNumbers<TSink>(ReadOnlySpan<byte> utf8, ref TSink sink) where TSink : IPanFindingSink
    {
        Unsafe.SkipInit(out ScanState state);
        ScanWithoutWriting(ref state, utf8, ref sink);
        return (int)state.Found;
    }

    // Inlined into each caller: the scan state stays on the caller's frame and the per-byte loop (PanScanner.Feed,
    // specialised on the struct writer and sink) is the same code it was, with no extra call around it.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ScanWithoutWriting<TSink>(ref ScanState state, ReadOnlySpan<byte> utf8, ref TSink sink) where TSink : IPanFindingSink
    {
        state.Reset();
        NoMaskWriter writer = default;
        PanScanner.Feed(ref state, utf8, 0, null, ref writer, ref sink);
        PanScanner.Finish(ref state, null, ref writer, ref sink);
    }

    /// <summary>HMAC-SHA-256 under the configured key of a PAN's ASCII digits (no separators), into 32 bytes.</summary>
    public void Fingerprint(ReadOnlySpan<byte> digits, Span<byte> destination32)
    {
        if (!ComputesFingerprints) throw new InvalidOperationException("This masker was configured without a fingerprint key.");
        if (destination32.Length < FingerprintLength) throw new ArgumentException("Destination must hold 32 bytes.", nameof(destination32));
        HMACSHA256.HashData(_key, digits, destination32);
    }

    /// <summary>
    /// Writes the mask over one card number's digits. Digits inside JSON strings become the mask byte (or its
    /// <c>\u00XX</c> escape where the digit was an escape, its fullwidth form where the digit was a 3-byte fullwidth or
    /// Devanagari one, the Arabic five pointed star U+066D where it was a 2-byte Arabic-Indic or Persian one, so
    /// length and validity hold). A bare JSON number cannot
    /// hold '*', so its masked digits become '0' (a leading one '9'), adjusted so the result fails Luhn and is not
    /// found again.
    /// </summary>
    /// <param name="widths">Bytes each digit takes in the input: 1, 2 (Arabic-Indic, Persian), 3 (fullwidth, Devanagari) or 6 (escape). A bare number's are all 1.</param>
    internal void WriteMask<TWriter>(scoped ReadOnlySpan<byte> digits, scoped ReadOnlySpan<long> offsets, scoped ReadOnlySpan<byte> widths, bool bareNumber, ref TWriter writer)
        where TWriter : IMaskWriter, allows ref struct
    {
        int n = digits.Length;
        int keepFirst = _keepFirst == 8 && n < 16 ? 6 : _keepFirst;
        int maskEnd = n - _keepLast;
        if (bareNumber)
        {
            Span<byte> masked = stackalloc byte[CardBrandTable.MaxLength];
            digits.CopyTo(masked);
            masked = masked.Slice(0, n);
            for (int k = keepFirst; k < maskEnd; k++) masked[k] = (byte)'0';
            if (keepFirst == 0) masked[0] = (byte)'9';
            if (CardBrandTable.LuhnValid(masked)) masked[maskEnd - 1] = maskEnd - 1 == 0 ? (byte)'8' : (byte)'1';
            for (int k = keepFirst; k < maskEnd; k++) writer.Write(offsets[k], masked.Slice(k, 1));
            return;
        }
        ReadOnlySpan<byte> plain = new(in _maskByte);
        ReadOnlySpan<byte> escapedMask = _escapedMask;
        ReadOnlySpan<byte> fullwidthMask = _fullwidthMask;
        for (int k = keepFirst; k < maskEnd; k++)
        {
            ReadOnlySpan<byte> mask = widths[k] switch
            {
                1 => plain,
                ArabicIndicAndDevanagariDigits.TwoByteLength => ArabicIndicAndDevanagariDigits.TwoByteMask,
                FullwidthForms.Utf8Length => fullwidthMask,
                _ => escapedMask,
            };
            writer.Write(offsets[k], mask);
        }
    }

    /// <summary>Masks every one of the digits at <paramref name="offsets"/>: a run cut at the invisible characters' bound keeps none in clear.</summary>
    internal void WriteEveryMask<TWriter>(scoped ReadOnlySpan<long> offsets, scoped ReadOnlySpan<byte> widths, ref TWriter writer)
        where TWriter : IMaskWriter, allows ref struct
    {
        for (int k = 0; k < offsets.Length; k++) WriteDigitMasks(offsets[k], 1, widths[k], ref writer);
    }

    /// <summary>Writes the mask byte over <paramref name="count"/> bytes from <paramref name="offset"/> (a track 1 name: whole characters, any width).</summary>
    internal void WriteByteMasks<TWriter>(long offset, int count, ref TWriter writer)
        where TWriter : IMaskWriter, allows ref struct
    {
        ReadOnlySpan<byte> mask = new(in _maskByte);
        for (int k = 0; k < count; k++) writer.Write(offset + k, mask);
    }

    /// <summary>Masks <paramref name="count"/> digits of <paramref name="width"/> bytes each, side by side from <paramref name="offset"/>.</summary>
    internal void WriteDigitMasks<TWriter>(long offset, int count, int width, ref TWriter writer)
        where TWriter : IMaskWriter, allows ref struct
    {
        ReadOnlySpan<byte> mask = width switch
        {
            1 => new ReadOnlySpan<byte>(in _maskByte),
            ArabicIndicAndDevanagariDigits.TwoByteLength => ArabicIndicAndDevanagariDigits.TwoByteMask,
            FullwidthForms.Utf8Length => _fullwidthMask,
            _ => _escapedMask,
        };
        for (int k = 0; k < count; k++) writer.Write(offset + (long)k * width, mask);
    }

    private static byte HexDigit(int v) => (byte)(v < 10 ? '0' + v : 'a' + v - 10);

    [InlineArray(6)]
    private struct EscapedMask
    {
        private byte _element;
    }

    [InlineArray(FullwidthForms.Utf8Length)]
    private struct FullwidthMask
    {
        private byte _element;
    }
}
