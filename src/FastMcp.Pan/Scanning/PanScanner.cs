using System.Buffers;
using System.Runtime.CompilerServices;

namespace FastMcp.Pan.Scanning;

/// <summary>
/// The card-number state machine. Bytes that cannot start a card number (neither digit, nor backslash, nor the 0xEF
/// lead byte of a fullwidth digit, nor the start of an Arabic-Indic, Persian or Devanagari digit) are skipped with a
/// vectorised search; plain digit runs are taken whole; only runs that touch separators, dots, escapes or multi-byte
/// characters (invisible ones among them, which it reads through) walk the per-character state machine. Works chunk
/// by chunk: <see cref="ScanState"/> carries everything across boundaries, and offsets are absolute so a find split
/// over chunks is masked where its bytes are.
/// </summary>
internal static class PanScanner
{
    /// <summary>Scans <paramref name="chunk"/>, whose first byte is at absolute offset <paramref name="chunkBase"/>.</summary>
    public static void Feed<TWriter, TSink>(ref ScanState s, scoped ReadOnlySpan<byte> chunk, long chunkBase, PanMasker? masker, ref TWriter writer, ref TSink sink)
        where TWriter : IMaskWriter, allows ref struct
        where TSink : IPanFindingSink
    {
        if (chunk.IsEmpty) return;
        int i = 0;
        if (s.PendingLength > 0) i = ContinuePending(ref s, chunk, masker, ref writer, ref sink);
        ByteBlocks blocks = new(chunk);

        while (i < chunk.Length)
        {
            if (s.Phase == Phase.Idle)
            {
                // Backslashes stop the skip, so every quote passed here is an unescaped one.
                int next = blocks.NextDigitOrEncodedStart(i, ref s.QuoteParity);
                if (next > i)
                {
                    byte before = chunk[next - 1];
                    if (before < 0x80) s.LeftBlocked = Blocks(before) && !IsTrack1Start(chunk, next - 1, s.LastByte);
                    else if (next < chunk.Length) s.LeftBlocked = BlockedThroughInvisibles(chunk, i, next, s.LeftBlocked);
                    else HoldInvisibleTail(ref s, chunk, i, chunkBase);
                }
                i = next;
                if (i == chunk.Length) break;
                if ((uint)(chunk[i] - '0') > 9)
                {
                    // A backslash or the start of a multi-byte digit: the skip stops at nothing else.
                    i = OnEncodedStart(ref s, chunk, i, chunkBase, masker, ref writer, ref sink);
                    continue;
                }
                int end = blocks.DigitRunEnd(i);
                if (end < chunk.Length && TryPlainNumber(ref s, chunk, i, end, chunkBase, masker, ref writer, ref sink, out int resume))
                {
                    i = resume;
                    continue;
                }
                StartRun(ref s, BareNumberContext(ref s, chunk, i));
                AppendRaw(ref s, chunk.Slice(i, end - i), chunkBase + i);
                s.Phase = Phase.InGroup;
                i = end;
                continue;
            }

            byte b = chunk[i];
            CharKind kind = ByteClass.Of(b);
            if (kind == CharKind.Digit)
            {
                int end = blocks.DigitRunEnd(i);
                OnDigits(ref s, chunk.Slice(i, end - i), chunkBase + i, width: 1, masker, ref writer, ref sink);
                i = end;
            }
            else if (kind is CharKind.Backslash or CharKind.WideLead)
            {
                i = OnEncodedStart(ref s, chunk, i, chunkBase, masker, ref writer, ref sink);
            }
            else
            {
                OnNonDigit(ref s, kind, b, chunkBase + i, 1, masker, ref writer, ref sink);
                i++;
            }
        }
        RememberContext(ref s, chunk);
    }

    /// <summary>End of input: an unfinished escape or UTF-8 character is just a first byte and bytes, an open run ends here.</summary>
    public static void Finish<TWriter, TSink>(ref ScanState s, PanMasker? masker, ref TWriter writer, ref TSink sink)
        where TWriter : IMaskWriter, allows ref struct
        where TSink : IPanFindingSink
    {
        while (s.PendingLength > 0) ReplayFailedPending(ref s, masker, ref writer, ref sink);
        // A track 1 name the input ended in never met its closing '^': no track.
        if (s.Phase is Phase.TrackName or Phase.TrackData) s.Phase = Phase.Idle;
        if (s.Phase != Phase.Idle) FinishRun(ref s, rightBlocked: false, masker, ref writer, ref sink);
        s.LeftBlocked = false;
    }

    private static bool Blocks(byte previous) => ByteClass.Of(previous) is CharKind.Letter or CharKind.Plus;

    /// <summary>
    /// "%B" right before a number: track 1's start sentinel and format code, so the letter does not make the card number
    /// part of a word. <paramref name="previousChunkLast"/> is the byte before the chunk, for a 'B' that starts it.
    /// </summary>
    private static bool IsTrack1Start(scoped ReadOnlySpan<byte> chunk, int formatCodeAt, byte previousChunkLast) =>
        chunk[formatCodeAt] == (byte)'B' && (formatCodeAt > 0 ? chunk[formatCodeAt - 1] : previousChunkLast) == (byte)'%';

    /// <summary>
    /// Whether the character before <paramref name="at"/>, reading back through invisible characters, blocks a number
    /// (a reader sees ORD4111… in ORD, ZERO WIDTH SPACE, 4111…). <paramref name="blockedAtFrom"/> is the answer at
    /// <paramref name="from"/>, where the skip began. Any other non-ASCII character blocks nothing, nor does a stray byte.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static bool BlockedThroughInvisibles(scoped ReadOnlySpan<byte> chunk, int from, int at, bool blockedAtFrom)
    {
        int end = at;
        while (end > from)
        {
            byte last = chunk[end - 1];
            if (last < 0x80) return Blocks(last);
            int start = end - 1;
            while (start > from && end - start < 4 && (chunk[start] & 0xC0) == 0x80) start--;
            if (!DefaultIgnorables.IsLead(chunk[start])
                || DefaultIgnorables.Decode(chunk.Slice(start, end - start), out int length, out _, out _) != DecodeStatus.Complete
                || length != end - start)
                return false;
            end = start;
        }
        return blockedAtFrom;
    }

    /// <summary>
    /// The skip reached the chunk's end on a non-ASCII byte. When the chunk ends inside what may be an invisible
    /// character, keep its bytes for the next chunk to decide, as a split escape is kept: a digit after it must still
    /// see the letter before it. Either way, record whether what precedes blocks a number.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void HoldInvisibleTail(ref ScanState s, scoped ReadOnlySpan<byte> chunk, int from, long chunkBase)
    {
        int end = chunk.Length;
        int start = end - 1;
        while (start > from && end - start < 4 && (chunk[start] & 0xC0) == 0x80) start--;
        if (DefaultIgnorables.IsLead(chunk[start])
            && DefaultIgnorables.Decode(chunk.Slice(start), out _, out _, out _) == DecodeStatus.NeedMore)
        {
            ReadOnlySpan<byte> tail = chunk.Slice(start);
            tail.CopyTo(s.Pending);
            s.PendingLength = tail.Length;
            s.PendingStart = chunkBase + start;
            end = start;
        }
        s.LeftBlocked = BlockedThroughInvisibles(chunk, from, end, s.LeftBlocked);
    }

    /// <summary>
    /// The common case, decided without the window: a plain number (digits, or digits '.' digits) starting while
    /// idle and ended by punctuation, a quote or a letter. Returns false, changing nothing, when the number touches a
    /// separator (a no-break or typographic space too), a backslash, a multi-byte digit, or the chunk's end, which the
    /// state machine handles.
    /// </summary>
    private static bool TryPlainNumber<TWriter, TSink>(ref ScanState s, scoped ReadOnlySpan<byte> chunk, int start, int end, long chunkBase, PanMasker? masker, ref TWriter writer, ref TSink sink, out int resume)
        where TWriter : IMaskWriter, allows ref struct
        where TSink : IPanFindingSink
    {
        resume = 0;
        CharKind next = PlainKindAt(chunk, end);
        bool spansSeveralParts = false;
        int stop = end;
        if (next == CharKind.Dot)
        {
            // "12.5": neither part can be a card number; skip both if the fraction ends plainly.
            if (end + 1 >= chunk.Length || ByteClass.Of(chunk[end + 1]) != CharKind.Digit) return false;
            stop = end + 2;
            while (stop < chunk.Length && (uint)(chunk[stop] - '0') <= 9) stop++;
            if (stop >= chunk.Length) return false;
            next = PlainKindAt(chunk, stop);
            spansSeveralParts = true;
        }
        if (next is CharKind.Space or CharKind.Dash)
        {
            if (spansSeveralParts) return false;
            // "2026-11-24T", "+1 555-123-4567", "a716-446655440000": groups joined by single separators cannot
            // contain a card number when they hold fewer than 12 digits in all, or when the first group is glued to
            // a letter and only dashes follow (a card starts only at an unblocked first group or after a space).
            // Skip them whole when they end plainly.
            int digits = end - start;
            bool startable = !s.LeftBlocked;
            stop = end;
            while (stop + 1 < chunk.Length && ByteClass.Of(chunk[stop]) is CharKind.Space or CharKind.Dash
                && (uint)(chunk[stop + 1] - '0') <= 9)
            {
                startable |= chunk[stop] == (byte)' ';
                int groupEnd = stop + 1;
                while (groupEnd < chunk.Length && (uint)(chunk[groupEnd] - '0') <= 9) groupEnd++;
                digits += groupEnd - stop - 1;
                stop = groupEnd;
                if (startable && digits >= CardBrandTable.MinLength || stop >= chunk.Length) return false;
            }
            if (startable && digits >= CardBrandTable.MinLength || stop + 1 >= chunk.Length) return false;
            next = PlainKindAt(chunk, stop);
            // A separator or backslash next could still lead to more digits (escaped or fullwidth ones, too): let the
            // state machine see it.
            if (next is CharKind.Dot or CharKind.Backslash) return false;
            if (next is CharKind.Space or CharKind.Dash && ByteClass.Of(chunk[stop + 1]) is CharKind.Backslash or CharKind.WideLead) return false;
            spansSeveralParts = stop > end; // several short groups: checked above, none can be a card
        }
        switch (next)
        {
            case CharKind.Other or CharKind.Plus or CharKind.Quote or CharKind.Space or CharKind.Dash:
                int length = end - start;
                if (!spansSeveralParts && !s.LeftBlocked && length is >= CardBrandTable.MinLength and <= CardBrandTable.MaxLength
                    && CardBrandTable.Match(chunk.Slice(start, length)) is CardBrand brand)
                {
                    StartRun(ref s, BareNumberContext(ref s, chunk, start));
                    AppendRaw(ref s, chunk.Slice(start, length), chunkBase + start);
                    Emit(ref s, 0, 0, brand, masker, ref writer, ref sink);
                    s.GroupCount = 0;
                    s.DigitCount = 0;
                    if (chunk[stop] is (byte)'=' or (byte)'^')
                    {
                        StartTrack(ref s, chunk[stop], chunkBase + stop + 1);
                        resume = stop + 1;
                        return true;
                    }
                }
                if (next == CharKind.Quote) s.QuoteParity ^= 1;
                s.LeftBlocked = next == CharKind.Plus;
                resume = stop + 1;
                return true;
            case CharKind.Letter:
                s.LeftBlocked = true;
                resume = stop + 1;
                return true;
            default:
                return false;
        }
    }

    /// <summary>
    /// The kind of the character at <paramref name="at"/> as the plain-number shortcut sees it: a wide lead byte that
    /// starts neither a digit nor a separator (a kana after "3", an Arabic letter after "12", the ° of "25°C") is an ordinary character;
    /// one that does, or that the chunk cuts short, stays <see cref="CharKind.WideLead"/> for the state machine.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static CharKind PlainKindAt(scoped ReadOnlySpan<byte> chunk, int at)
    {
        CharKind kind = ByteClass.Of(chunk[at]);
        return kind == CharKind.WideLead ? WideKindAt(chunk, at) : kind;
    }

    /// <summary>Kept out of line: inlined, the decoder made the plain-number shortcut measurably slower on ASCII input.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static CharKind WideKindAt(scoped ReadOnlySpan<byte> chunk, int at) =>
        EncodedChar.Decode(chunk.Slice(at), out _, out _, out _) == DecodeStatus.Literal ? CharKind.Other : CharKind.WideLead;

    /// <summary>A backslash or a wide lead byte: decode the character it starts (a JSON escape, a fullwidth form, a script's digit).</summary>
    private static int OnEncodedStart<TWriter, TSink>(ref ScanState s, scoped ReadOnlySpan<byte> chunk, int i, long chunkBase, PanMasker? masker, ref TWriter writer, ref TSink sink)
        where TWriter : IMaskWriter, allows ref struct
        where TSink : IPanFindingSink
    {
        switch (EncodedChar.Decode(chunk.Slice(i), out int length, out CharKind kind, out byte ascii))
        {
            case DecodeStatus.Complete:
                OnDecoded(ref s, kind, ascii, chunkBase + i, length, masker, ref writer, ref sink);
                return i + length;
            case DecodeStatus.Literal:
                OnNonDigit(ref s, CharKind.Other, chunk[i], chunkBase + i, 1, masker, ref writer, ref sink);
                return i + 1;
            default:
                // Split by the chunk boundary: keep the bytes, decide when the next chunk arrives.
                ReadOnlySpan<byte> tail = chunk.Slice(i);
                tail.CopyTo(s.Pending);
                s.PendingLength = tail.Length;
                s.PendingStart = chunkBase + i;
                return chunk.Length;
        }
    }

    /// <summary>Completes a character begun in an earlier chunk; returns how many bytes of <paramref name="chunk"/> it used.</summary>
    private static int ContinuePending<TWriter, TSink>(ref ScanState s, scoped ReadOnlySpan<byte> chunk, PanMasker? masker, ref TWriter writer, ref TSink sink)
        where TWriter : IMaskWriter, allows ref struct
        where TSink : IPanFindingSink
    {
        int used = 0;
        Span<byte> buffer = stackalloc byte[EncodedChar.MaxLength];
        while (s.PendingLength > 0)
        {
            int had = s.PendingLength;
            int take = Math.Min(EncodedChar.MaxLength - had, chunk.Length - used);
            ((ReadOnlySpan<byte>)s.Pending).Slice(0, had).CopyTo(buffer);
            chunk.Slice(used, take).CopyTo(buffer.Slice(had));
            DecodeStatus status = EncodedChar.Decode(buffer.Slice(0, had + take), out int length, out CharKind kind, out byte ascii);
            if (status == DecodeStatus.NeedMore)
            {
                buffer.Slice(had, take).CopyTo(((Span<byte>)s.Pending).Slice(had));
                s.PendingLength = had + take;
                return used + take;
            }
            if (status == DecodeStatus.Complete)
            {
                long start = s.PendingStart;
                if (length >= had)
                {
                    s.PendingLength = 0;
                    OnDecoded(ref s, kind, ascii, start, length, masker, ref writer, ref sink);
                    return used + (length - had);
                }
                // A high surrogate's escape that no low one follows: it stands alone, and the bytes held after it
                // start the next character.
                ((ReadOnlySpan<byte>)s.Pending).Slice(length, had - length).CopyTo(s.Pending);
                s.PendingLength = had - length;
                s.PendingStart = start + length;
                OnDecoded(ref s, kind, ascii, start, length, masker, ref writer, ref sink);
                continue;
            }
            // Not a character we decode: the first byte stands alone and the bytes held after it are scanned as
            // ordinary input (they may hold digits, or start another split character that this loop then continues).
            ReplayFailedPending(ref s, masker, ref writer, ref sink);
        }
        return used;
    }

    private static void ReplayFailedPending<TWriter, TSink>(ref ScanState s, PanMasker? masker, ref TWriter writer, ref TSink sink)
        where TWriter : IMaskWriter, allows ref struct
        where TSink : IPanFindingSink
    {
        Span<byte> held = stackalloc byte[EncodedChar.MaxLength];
        int count = s.PendingLength - 1;
        ((ReadOnlySpan<byte>)s.Pending).Slice(1, count).CopyTo(held);
        long start = s.PendingStart + 1;
        byte first = s.Pending[0];
        s.PendingLength = 0;
        OnNonDigit(ref s, CharKind.Other, first, start - 1, 1, masker, ref writer, ref sink);
        byte context1 = s.Context1, context2 = s.Context2, last = s.LastByte;
        Feed(ref s, held.Slice(0, count), start, masker, ref writer, ref sink);
        // These bytes were already part of the previous chunk's look-behind context.
        s.Context1 = context1;
        s.Context2 = context2;
        s.LastByte = last;
    }

    /// <summary>A decoded character of <paramref name="width"/> bytes; a digit is stored as its ASCII digit.</summary>
    private static void OnDecoded<TWriter, TSink>(ref ScanState s, CharKind kind, byte ascii, long offset, int width, PanMasker? masker, ref TWriter writer, ref TSink sink)
        where TWriter : IMaskWriter, allows ref struct
        where TSink : IPanFindingSink
    {
        if (kind == CharKind.Digit)
        {
            ReadOnlySpan<byte> digit = [ascii];
            OnDigits(ref s, digit, offset, width, masker, ref writer, ref sink);
        }
        else if (kind == CharKind.Ignorable)
        {
            OnIgnorable(ref s, width, masker, ref writer);
        }
        else
        {
            OnNonDigit(ref s, kind, ascii, offset, width, masker, ref writer, ref sink);
        }
    }

    /// <summary>
    /// An invisible character: transparent, so the phase stays what it was (inside a group, after a separator, …) and,
    /// before a number, whether a letter blocks it too. Inside a run its bytes are held back with the digits, so they
    /// are bounded: past <see cref="ScanState.MaxIgnorableBytes"/> the run is cut (<see cref="CutAtBound"/>).
    /// </summary>
    private static void OnIgnorable<TWriter>(ref ScanState s, int width, PanMasker? masker, ref TWriter writer)
        where TWriter : IMaskWriter, allows ref struct
    {
        if (s.Phase is Phase.Idle or Phase.Overflowed or Phase.TrackData) return;
        if (s.Phase == Phase.TrackName)
        {
            // An invisible character is a character of the name: it counts toward the bound.
            if (++s.TrackNameChars > ScanState.MaxTrackNameChars) s.Phase = Phase.Idle;
            return;
        }
        // JSON has no invisible characters between a number's digits: the run is no bare JSON number.
        s.Groups[0].BareNumberContext = false;
        s.IgnorableBytes += width;
        s.Groups[s.GroupCount - 1].IgnorableBytes += (ushort)width;
        if (s.IgnorableBytes > ScanState.MaxIgnorableBytes) CutAtBound(ref s, masker, ref writer);
    }

    /// <summary>
    /// Too many invisible characters inside one run to hold it back any longer. Its digits could be part of a card
    /// number whose rest is still to come, and released as they are a reader would see it whole, so fail closed: mask
    /// every digit held, count the run as one card number (it has no brand or fingerprint, so no sink hears of it),
    /// and mask every digit that continues it (<see cref="Phase.Overflowed"/>). Only a deliberate flood gets here:
    /// text puts one or two invisible characters between digits, not dozens.
    /// </summary>
    private static void CutAtBound<TWriter>(ref ScanState s, PanMasker? masker, ref TWriter writer)
        where TWriter : IMaskWriter, allows ref struct
    {
        if (s.DigitCount == 0)
        {
            // Only overlong groups (20+ digits, never a card) are open: nothing is held back, nothing to hide.
            s.IgnorableBytes = 0;
            for (int g = 0; g < s.GroupCount; g++) s.Groups[g].IgnorableBytes = 0;
            return;
        }
        s.Found++;
        masker?.WriteEveryMask(((ReadOnlySpan<long>)s.Offsets).Slice(0, s.DigitCount), ((ReadOnlySpan<byte>)s.Widths).Slice(0, s.DigitCount), ref writer);
        s.Phase = Phase.Overflowed;
        s.GroupCount = 0;
        s.DigitCount = 0;
        s.IgnorableBytes = 0;
    }

    /// <param name="width">1 for raw ASCII digits (any number of them), else the byte length of the one encoded digit.</param>
    private static void OnDigits<TWriter, TSink>(ref ScanState s, scoped ReadOnlySpan<byte> digits, long offset, int width, PanMasker? masker, ref TWriter writer, ref TSink sink)
        where TWriter : IMaskWriter, allows ref struct
        where TSink : IPanFindingSink
    {
        switch (s.Phase)
        {
            case Phase.Overflowed:
                // A run cut at the bound goes on: its digits are masked as they come and nothing is held.
                masker?.WriteDigitMasks(offset, digits.Length, width, ref writer);
                return;
            case Phase.TrackData:
                // Expiry, service code and discretionary data (which holds the CVV1 or iCVV): masked as they come.
                masker?.WriteDigitMasks(offset, digits.Length, width, ref writer);
                CountTrack(ref s, ref sink);
                return;
            case Phase.TrackName:
                // A name holds no digits: this was no track 1, and the digits are scanned like any others.
                s.Phase = Phase.Idle;
                StartRun(ref s, bareNumberContext: false);
                break;
            case Phase.Idle:
                // Only encoded digits get here while idle: escaped ones occur only inside JSON strings and multi-byte
                // ones are no JSON number, so a run they start is never a bare number.
                StartRun(ref s, bareNumberContext: false);
                break;
            case Phase.AfterSeparator:
                NewGroup(ref s, leftOk: s.LeftBlocked == false, masker, ref writer, ref sink);
                break;
            case Phase.AfterDot:
                // "123.456": the run before the dot is an integer part and the digits after it a fraction.
                FinishRun(ref s, rightBlocked: true, masker, ref writer, ref sink);
                s.LeftBlocked = true;
                StartRun(ref s, bareNumberContext: false);
                break;
        }
        s.Phase = Phase.InGroup;
        if (width != 1)
        {
            s.Groups[s.GroupCount - 1].HasEncodedDigits = true;
            AppendDigit(ref s, digits[0], offset, (byte)width);
        }
        else
        {
            AppendRaw(ref s, digits, offset);
        }
        if (s.GroupCount > 1 && s.Groups[s.GroupCount - 1].Overlong) SettleBeforeOverlong(ref s, masker, ref writer, ref sink);
    }

    /// <summary>
    /// The run's last group just passed 19 digits. No card number can contain it, so every card number among the
    /// groups before it is decidable now (the last of them is bounded on the right by the long group, as it would be
    /// when the run ends): decide them and drop them. Held until the run ended instead, they and the long run after
    /// them would pin the stream masker's hold-back at their first digit, past any bound.
    /// </summary>
    private static void SettleBeforeOverlong<TWriter, TSink>(ref ScanState s, PanMasker? masker, ref TWriter writer, ref TSink sink)
        where TWriter : IMaskWriter, allows ref struct
        where TSink : IPanFindingSink
    {
        int last = s.GroupCount - 2;
        int start = 0;
        while (start <= last)
        {
            int next = start + 1;
            for (int end = Math.Min(start + 4, last); end >= start; end--)
            {
                if (Candidate(ref s, start, end, rightBlocked: false) is CardBrand brand)
                {
                    Emit(ref s, start, end, brand, masker, ref writer, ref sink);
                    next = end + 1;
                    break;
                }
            }
            start = next;
        }
        DropHead(ref s, s.GroupCount - 1);
    }

    /// <param name="ascii">The character's byte (its ASCII counterpart when decoded; 0 for a two-byte escape).</param>
    /// <param name="offset">Absolute offset of the character's first byte.</param>
    /// <param name="width">Bytes the character takes.</param>
    private static void OnNonDigit<TWriter, TSink>(ref ScanState s, CharKind kind, byte ascii, long offset, int width, PanMasker? masker, ref TWriter writer, ref TSink sink)
        where TWriter : IMaskWriter, allows ref struct
        where TSink : IPanFindingSink
    {
        if (kind == CharKind.Quote) s.QuoteParity ^= 1;
        switch (s.Phase)
        {
            case Phase.Idle:
                break;
            case Phase.TrackData:
                // The end sentinel '?', a field separator or the string's end: the track's digits are over.
                s.Phase = Phase.Idle;
                break;
            case Phase.TrackName:
                if (OnTrackNameCharacter(ref s, kind, ascii, offset, masker, ref writer, ref sink)) return;
                s.Phase = Phase.Idle;
                break;
            case Phase.Overflowed:
                // Separators go on with the cut run (it may be a card grouped with them); anything else ends it.
                if (kind is CharKind.Space or CharKind.Dash) return;
                s.Phase = Phase.Idle;
                break;
            case Phase.InGroup:
                if (kind is CharKind.Space or CharKind.Dash)
                {
                    s.Phase = Phase.AfterSeparator;
                    // While AfterSeparator, LeftBlocked records whether the separator was a dash: dashes bind
                    // groups into one token (UUIDs, dates, phone numbers), so a card may not start or end at one.
                    s.LeftBlocked = kind == CharKind.Dash;
                    return;
                }
                if (kind == CharKind.Dot)
                {
                    s.Phase = Phase.AfterDot;
                    return;
                }
                FinishRun(ref s, rightBlocked: kind == CharKind.Letter, masker, ref writer, ref sink);
                if (s.CardEndsRun && ascii is (byte)'=' or (byte)'^')
                {
                    StartTrack(ref s, ascii, offset + width);
                    return;
                }
                break;
            default:
                FinishRun(ref s, rightBlocked: false, masker, ref writer, ref sink);
                break;
        }
        s.LeftBlocked = kind is CharKind.Letter or CharKind.Plus;
    }

    /// <summary>A card number was followed right away by '=' (track 2) or '^' (track 1): the track's own data comes next.</summary>
    private static void StartTrack(ref ScanState s, byte separator, long next)
    {
        s.CardEndsRun = false;
        s.TrackCounted = false;
        s.LeftBlocked = false;
        if (separator == (byte)'=')
        {
            s.Phase = Phase.TrackData;
            return;
        }
        s.Phase = Phase.TrackName;
        s.TrackNameStart = next;
        s.TrackNameChars = 0;
    }

    /// <summary>
    /// One non-digit character of a track 1 name. The closing '^' masks the name (every byte, so its characters' widths
    /// do not matter) and starts the track's data; false ends the name without a track: a quote (the string's end), a
    /// control character, or more characters than a name holds. The name's bytes are held back until then.
    /// </summary>
    private static bool OnTrackNameCharacter<TWriter, TSink>(ref ScanState s, CharKind kind, byte ascii, long offset, PanMasker? masker, ref TWriter writer, ref TSink sink)
        where TWriter : IMaskWriter, allows ref struct
        where TSink : IPanFindingSink
    {
        if (kind == CharKind.Quote || ascii < 0x20 && ascii != 0) return false;
        if (ascii == (byte)'^')
        {
            masker?.WriteByteMasks(s.TrackNameStart, (int)(offset - s.TrackNameStart), ref writer);
            s.Phase = Phase.TrackData;
            CountTrack(ref s, ref sink);
            return true;
        }
        // A UTF-8 continuation byte belongs to the character before it.
        if ((ascii & 0xC0) != 0x80 && ++s.TrackNameChars > ScanState.MaxTrackNameChars) return false;
        s.LeftBlocked = kind is CharKind.Letter or CharKind.Plus;
        return true;
    }

    private static void CountTrack<TSink>(ref ScanState s, ref TSink sink) where TSink : IPanFindingSink
    {
        if (s.TrackCounted) return;
        s.TrackCounted = true;
        s.Tracks++;
        sink.OnSensitiveData(SensitiveDataKind.Track);
    }

    private static void StartRun(ref ScanState s, bool bareNumberContext)
    {
        s.GroupCount = 1;
        s.DigitCount = 0;
        s.IgnorableBytes = 0;
        s.Groups[0] = new DigitGroup { DigitStart = 0, LeftOk = !s.LeftBlocked, BareNumberContext = bareNumberContext };
    }

    private static void NewGroup<TWriter, TSink>(ref ScanState s, bool leftOk, PanMasker? masker, ref TWriter writer, ref TSink sink)
        where TWriter : IMaskWriter, allows ref struct
        where TSink : IPanFindingSink
    {
        if (s.GroupCount == ScanState.MaxGroups - 1) ResolveHead(ref s, masker, ref writer, ref sink);
        s.Groups[s.GroupCount++] = new DigitGroup { DigitStart = (byte)s.DigitCount, LeftOk = leftOk };
    }

    private static void AppendRaw(ref ScanState s, scoped ReadOnlySpan<byte> digits, long offset)
    {
        ref DigitGroup group = ref s.Groups[s.GroupCount - 1];
        if (group.Overlong) return;
        int length = group.Length + digits.Length;
        if (length > ScanState.MaxGroupDigits)
        {
            MakeOverlong(ref s, ref group);
            return;
        }
        int at = s.DigitCount;
        digits.CopyTo(((Span<byte>)s.Digits).Slice(at));
        Span<long> offsets = s.Offsets;
        Span<byte> widths = s.Widths;
        for (int k = 0; k < digits.Length; k++)
        {
            offsets[at + k] = offset + k;
            widths[at + k] = 1;
        }
        s.DigitCount = at + digits.Length;
        group.Length = (byte)length;
    }

    private static void AppendDigit(ref ScanState s, byte digit, long offset, byte width)
    {
        ref DigitGroup group = ref s.Groups[s.GroupCount - 1];
        if (group.Overlong) return;
        if (group.Length == ScanState.MaxGroupDigits)
        {
            MakeOverlong(ref s, ref group);
            return;
        }
        int at = s.DigitCount++;
        s.Digits[at] = digit;
        s.Offsets[at] = offset;
        s.Widths[at] = width;
        group.Length++;
    }

    private static void MakeOverlong(ref ScanState s, ref DigitGroup group)
    {
        // Twenty or more digits in a row are an id, hash or big number: drop its digits, keep only the fact.
        s.DigitCount = group.DigitStart;
        group.Length = 0;
        group.Overlong = true;
    }

    /// <summary>
    /// The window is full and the run goes on: every card number that could start at the first group is now
    /// decidable (it spans at most five groups), so decide it and drop what can no longer be part of one.
    /// </summary>
    private static void ResolveHead<TWriter, TSink>(ref ScanState s, PanMasker? masker, ref TWriter writer, ref TSink sink)
        where TWriter : IMaskWriter, allows ref struct
        where TSink : IPanFindingSink
    {
        int drop = 1;
        for (int end = Math.Min(4, s.GroupCount - 2); end >= 0; end--)
        {
            if (Candidate(ref s, 0, end, rightBlocked: false) is CardBrand brand)
            {
                Emit(ref s, 0, end, brand, masker, ref writer, ref sink);
                drop = end + 1;
                break;
            }
        }
        DropHead(ref s, drop);
    }

    private static void DropHead(ref ScanState s, int groups)
    {
        int firstDigit = s.Groups[groups].DigitStart;
        int keepDigits = s.DigitCount - firstDigit;
        if (firstDigit > 0 && keepDigits > 0)
        {
            ((Span<byte>)s.Digits).Slice(firstDigit, keepDigits).CopyTo(s.Digits);
            ((Span<long>)s.Offsets).Slice(firstDigit, keepDigits).CopyTo(s.Offsets);
            ((Span<byte>)s.Widths).Slice(firstDigit, keepDigits).CopyTo(s.Widths);
        }
        s.DigitCount = keepDigits;
        // The invisible characters of the dropped groups are no longer held back either.
        for (int g = 0; g < groups; g++) s.IgnorableBytes -= s.Groups[g].IgnorableBytes;
        int keepGroups = s.GroupCount - groups;
        for (int g = 0; g < keepGroups; g++)
        {
            DigitGroup moved = s.Groups[g + groups];
            moved.DigitStart = (byte)(moved.DigitStart - firstDigit);
            moved.BareNumberContext = false;
            s.Groups[g] = moved;
        }
        s.GroupCount = keepGroups;
    }

    /// <summary>The run ended: find card numbers left to right, longest first at each start.</summary>
    private static void FinishRun<TWriter, TSink>(ref ScanState s, bool rightBlocked, PanMasker? masker, ref TWriter writer, ref TSink sink)
        where TWriter : IMaskWriter, allows ref struct
        where TSink : IPanFindingSink
    {
        int count = s.GroupCount;
        s.CardEndsRun = false;
        if (count == 1)
        {
            if (Candidate(ref s, 0, 0, rightBlocked) is CardBrand single)
            {
                Emit(ref s, 0, 0, single, masker, ref writer, ref sink);
                s.CardEndsRun = true;
            }
        }
        else
        {
            int start = 0;
            while (start < count)
            {
                int next = start + 1;
                for (int end = Math.Min(start + 4, count - 1); end >= start; end--)
                {
                    if (Candidate(ref s, start, end, rightBlocked) is CardBrand brand)
                    {
                        Emit(ref s, start, end, brand, masker, ref writer, ref sink);
                        s.CardEndsRun = end == count - 1;
                        next = end + 1;
                        break;
                    }
                }
                start = next;
            }
        }
        s.Phase = Phase.Idle;
        s.GroupCount = 0;
        s.DigitCount = 0;
        s.IgnorableBytes = 0;
    }

    /// <summary>Groups <paramref name="first"/>..<paramref name="last"/> as one card number, or null.</summary>
    private static CardBrand? Candidate(ref ScanState s, int first, int last, bool rightBlocked)
    {
        ref DigitGroup head = ref s.Groups[first];
        if (!head.LeftOk) return null;
        bool rightOk = last + 1 < s.GroupCount ? s.Groups[last + 1].LeftOk : !rightBlocked;
        if (!rightOk) return null;
        int total = 0;
        for (int g = first; g <= last; g++)
        {
            if (s.Groups[g].Overlong) return null;
            total += s.Groups[g].Length;
        }
        if (total < CardBrandTable.MinLength || total > CardBrandTable.MaxLength) return null;
        if (last > first && !IsUsualGrouping(ref s, first, last)) return null;
        return CardBrandTable.Match(((ReadOnlySpan<byte>)s.Digits).Slice(head.DigitStart, total));
    }

    /// <summary>4-4-4(-4)(-n) with a last group of 1 to 4 digits, Amex 4-6-5, Diners 4-6-4.</summary>
    private static bool IsUsualGrouping(ref ScanState s, int first, int last)
    {
        int groups = last - first + 1;
        if (groups < 3) return false;
        if (s.Groups[first].Length != 4) return false;
        if (groups == 3 && s.Groups[first + 1].Length == 6 && s.Groups[last].Length is 4 or 5) return true;
        for (int g = first + 1; g < last; g++)
        {
            if (s.Groups[g].Length != 4) return false;
        }
        return s.Groups[last].Length is >= 1 and <= 4;
    }

    private static void Emit<TWriter, TSink>(ref ScanState s, int first, int last, CardBrand brand, PanMasker? masker, ref TWriter writer, ref TSink sink)
        where TWriter : IMaskWriter, allows ref struct
        where TSink : IPanFindingSink
    {
        s.Found++;
        int start = s.Groups[first].DigitStart;
        int end = s.Groups[last].DigitStart + s.Groups[last].Length;
        ReadOnlySpan<byte> digits = ((ReadOnlySpan<byte>)s.Digits).Slice(start, end - start);
        ReadOnlySpan<long> offsets = ((ReadOnlySpan<long>)s.Offsets).Slice(start, end - start);
        ReadOnlySpan<byte> widths = ((ReadOnlySpan<byte>)s.Widths).Slice(start, end - start);
        long firstOffset = offsets[0];
        int byteLength = (int)(offsets[^1] + widths[^1] - firstOffset);
        if (masker is null)
        {
            sink.OnCardNumber(brand, firstOffset, byteLength, default);
            return;
        }
        bool bare = first == 0 && last == 0 && s.Groups[0].BareNumberContext && !s.Groups[0].HasEncodedDigits;
        if (bare && s.KeepBareNumbers) s.KeptNumbers++;
        else masker.WriteMask(digits, offsets, widths, bare, ref writer);
        Span<byte> fingerprint = stackalloc byte[PanMasker.FingerprintLength];
        int fingerprintLength = 0;
        if (typeof(TSink) != typeof(NoSink) && masker.ComputesFingerprints)
        {
            masker.Fingerprint(digits, fingerprint);
            fingerprintLength = PanMasker.FingerprintLength;
        }
        sink.OnCardNumber(brand, firstOffset, byteLength, fingerprint.Slice(0, fingerprintLength));
    }

    /// <summary>
    /// A bare JSON number is outside any string and preceded (ignoring whitespace and its minus sign) by ':', '[',
    /// ',' or nothing. Masking it with '*' would break the JSON, so it is masked with digits instead. Requiring
    /// both keeps '*' for card numbers in log lines ("card=4111...") where quotes need not balance.
    /// </summary>
    private static bool BareNumberContext(ref ScanState s, scoped ReadOnlySpan<byte> chunk, int at)
    {
        if (s.PlainText || (s.QuoteParity & 1) != 0) return false;
        int k = at - 1;
        bool minus = k >= 0 && chunk[k] == (byte)'-';
        if (minus) k--;
        while (k >= 0 && ByteClass.IsJsonWhitespace(chunk[k])) k--;
        byte previous;
        if (k >= 0) previous = chunk[k];
        else if (at == 0 && s.LastByte == (byte)'-') previous = s.Context2;
        else previous = s.Context1;
        return previous is 0 or (byte)':' or (byte)'[' or (byte)',';
    }

    private static void RememberContext(ref ScanState s, ReadOnlySpan<byte> chunk)
    {
        s.LastByte = chunk[^1];
        int k = chunk.Length - 1;
        while (k >= 0 && ByteClass.IsJsonWhitespace(chunk[k])) k--;
        if (k < 0) return;
        byte last = chunk[k--];
        while (k >= 0 && ByteClass.IsJsonWhitespace(chunk[k])) k--;
        s.Context2 = k >= 0 ? chunk[k] : s.Context1;
        s.Context1 = last;
    }
}
