using System.Runtime.CompilerServices;

namespace FastMcp.Pan.Scanning;

internal enum Phase : byte
{
    /// <summary>Not inside a number: the fast path skips to the next digit or backslash.</summary>
    Idle,
    /// <summary>Reading the digits of a group.</summary>
    InGroup,
    /// <summary>A group was followed by one space or dash: the next character decides whether the run goes on.</summary>
    AfterSeparator,
    /// <summary>A group was followed by '.': a digit next makes it a decimal number, anything else ends it.</summary>
    AfterDot,
    /// <summary>
    /// The run held more invisible characters than <see cref="ScanState.MaxIgnorableBytes"/>: its digits were masked
    /// and every digit that continues it is masked as it comes, until a character that ends a number.
    /// </summary>
    Overflowed,
    /// <summary>
    /// A card number ended at '^' (track 1): reading the cardholder name up to the next '^', at most
    /// <see cref="ScanState.MaxTrackNameChars"/> characters. Held back until that '^' says it was a track.
    /// </summary>
    TrackName,
    /// <summary>A card number ended at '=' (track 2), or a track 1 name did at '^': every digit that follows is masked as it comes.</summary>
    TrackData,
}

/// <summary>One group of digits in the current run (digits joined by single spaces or dashes).</summary>
internal struct DigitGroup
{
    /// <summary>Index of the group's first digit in <see cref="ScanState.Digits"/>.</summary>
    public byte DigitStart;
    /// <summary>Digits stored (0 once the group is overlong).</summary>
    public byte Length;
    /// <summary>More than 19 digits: part of a longer run, never inside a card number.</summary>
    public bool Overlong;
    /// <summary>A card number may start here: first group with nothing alphanumeric before it, or a group after a space.</summary>
    public bool LeftOk;
    /// <summary>Some digit was written as a JSON escape or a multi-byte character: the group is no bare JSON number.</summary>
    public bool HasEncodedDigits;
    /// <summary>First group of a run that may be a bare JSON number (preceded by ':', '[', ',' or nothing).</summary>
    public bool BareNumberContext;
    /// <summary>Bytes of invisible characters inside the group and after it, up to the next group.</summary>
    public ushort IgnorableBytes;
}

[InlineArray(ScanState.MaxGroups)]
internal struct GroupArray
{
    private DigitGroup _element;
}

[InlineArray(ScanState.MaxDigits)]
internal struct DigitArray
{
    private byte _element;
}

[InlineArray(ScanState.MaxDigits)]
internal struct OffsetArray
{
    private long _element;
}

[InlineArray(EncodedChar.MaxLength)]
internal struct PendingBytes
{
    private byte _element;
}

/// <summary>
/// Everything the scanner carries from one chunk to the next: the bounded window of recent digit groups
/// (with each digit's absolute offset, so masks land in earlier chunks), an encoded character split by a chunk boundary,
/// and the few bytes of look-behind that decide boundaries.
/// </summary>
internal struct ScanState
{
    /// <summary>Window of groups; a card number spans at most 5 (4-4-4-4-3), so 7 leave room to decide the head.</summary>
    public const int MaxGroups = 8;
    public const int MaxGroupDigits = CardBrandTable.MaxLength;
    public const int MaxDigits = MaxGroups * MaxGroupDigits;

    /// <summary>
    /// Most bytes of invisible characters the window may hold: what <see cref="PanStreamMasker.MaxHoldBack"/> leaves
    /// once the widest window of digits is counted (7 groups of 19 digits, each digit and each group's separator a
    /// 6-byte escape) and an unfinished surrogate-pair escape. 172 bytes: 57 raw zero width spaces, 28 escaped ones.
    /// </summary>
    public const int MaxIgnorableBytes = PanStreamMasker.MaxHoldBack - (MaxGroups - 1) * (MaxGroupDigits + 1) * JsonEscape.EscapeLength - EncodedChar.MaxLength;

    public Phase Phase;
    /// <summary>Idle: the previous character was a letter or '+', so a number starting next is not a card number.</summary>
    public bool LeftBlocked;
    public int GroupCount;
    public int DigitCount;
    /// <summary>Bytes of invisible characters in the window's groups (the sum of theirs).</summary>
    public int IgnorableBytes;
    public GroupArray Groups;
    /// <summary>ASCII digits of the stored groups.</summary>
    public DigitArray Digits;
    /// <summary>Absolute offset of each stored digit's first byte.</summary>
    public OffsetArray Offsets;
    /// <summary>Bytes each stored digit takes in the input: 1 (ASCII), 2 (Arabic-Indic, Persian), 3 (fullwidth, Devanagari) or 6 (JSON escape).</summary>
    public DigitArray Widths;

    /// <summary>The start of a JSON escape or a multi-byte UTF-8 character that the chunk ended inside of.</summary>
    public PendingBytes Pending;
    public int PendingLength;
    public long PendingStart;

    /// <summary>Last and second-last non-whitespace bytes before the next chunk (0 = none yet), and the very last byte.</summary>
    public byte Context1, Context2, LastByte;

    /// <summary>Odd after an odd number of unescaped quotes: the scan position is inside a JSON string.</summary>
    public int QuoteParity;

    public long Found;

    /// <summary>Longest cardholder name a track 1 may carry (ISO/IEC 7813).</summary>
    public const int MaxTrackNameChars = 26;
    /// <summary>The last run ended with a card number that took in its last group: a track separator right after it starts a track.</summary>
    public bool CardEndsRun;
    /// <summary>Track 1 name: absolute offset of its first byte, and characters read so far.</summary>
    public long TrackNameStart;
    public int TrackNameChars;
    /// <summary>The current track was counted (and reported) already.</summary>
    public bool TrackCounted;
    /// <summary>Tracks (track 1 or 2 data after a card number) whose data was masked.</summary>
    public long Tracks;

    /// <summary>Card numbers that are bare JSON numbers are reported but not rewritten (counted in <see cref="KeptNumbers"/>).</summary>
    public bool KeepBareNumbers;
    public long KeptNumbers;

    /// <summary>The input is text (a header value, a decoded string), never JSON: no number is bare, every mask is the mask byte.</summary>
    public bool PlainText;

    public void Reset()
    {
        Phase = Phase.Idle;
        LeftBlocked = false;
        GroupCount = 0;
        DigitCount = 0;
        IgnorableBytes = 0;
        PendingLength = 0;
        PendingStart = 0;
        Context1 = Context2 = LastByte = 0;
        QuoteParity = 0;
        Found = 0;
        CardEndsRun = false;
        TrackNameStart = 0;
        TrackNameChars = 0;
        TrackCounted = false;
        Tracks = 0;
        KeepBareNumbers = false;
        KeptNumbers = 0;
        PlainText = false;
    }

    /// <summary>Earliest absolute offset that may still be rewritten, or <paramref name="end"/> when none.</summary>
    public readonly long HoldFrom(long end)
    {
        long hold = end;
        if (Phase != Phase.Idle && DigitCount > 0) hold = Math.Min(hold, Offsets[0]);
        if (Phase == Phase.TrackName) hold = Math.Min(hold, TrackNameStart);
        if (PendingLength > 0) hold = Math.Min(hold, PendingStart);
        return hold;
    }
}
