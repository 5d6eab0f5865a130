using FastMcp.Pan.Payloads;

namespace FastMcp.Pan;

/// <summary>
/// One detection pass over a JSON message as its sender wrote it: whether it holds card numbers, and where each starts,
/// so that the stages that ask (the policy's containsCardNumber over the arguments, request masking) read one scan of
/// the message instead of each scanning it again. Nothing is changed and no fingerprint is made. Reused: one per
/// connection, <see cref="Scan"/> per message; nothing is allocated per scan.
/// <para>
/// What it answers is what scanning the part itself answers (<see cref="PanMasker.ContainsCardNumber"/>), and it says so
/// only when it knows: a run cut at the invisible characters' bound has no position, and more than
/// <see cref="MaxPlaced"/> finds are not all kept, so a part holding none of the kept starts is then
/// <see cref="CardPresence.Unknown"/> and its asker scans it as before. A JSON object or array inside the message starts
/// and ends with a bracket, which ends every run of digits, so the card numbers found in it alone are those of the
/// message's whose first digit lies in it (MessageCardScanDifferentialTests holds this against the part scanned alone).
/// </para>
/// </summary>
public sealed class MessageCardScan
{
    /// <summary>Card-number starts kept per message; a message with more is answered from a scan of the part asked about.</summary>
    public const int MaxPlaced = 16;

    private readonly int[] _starts = new int[MaxPlaced];
    private PanMasker? _masker;
    private int _length = -1;
    private int _found;
    private int _placed;
    private bool _payloadsMightHold;
    private bool _membersMightHold;

    /// <summary>Forgets the last scan: until the next one nothing is known.</summary>
    public void Reset()
    {
        _masker = null;
        _length = -1;
        _found = _placed = 0;
    }

    /// <summary>
    /// Scans <paramref name="message"/> (UTF-8 JSON, as sent) for card numbers, and notes whether the masking
    /// <paramref name="masker"/> does could have anything else to do in it (a blob/data payload, a sensitive member).
    /// </summary>
    public void Scan(ReadOnlySpan<byte> message, PanMasker masker)
    {
        ArgumentNullException.ThrowIfNull(masker);
        var starts = new StartSink(_starts);
        _found = PanMasker.FindCardNumbers(message, ref starts);
        _placed = starts.Placed;
        MemberPreTest.Run(message, masker.SensitiveMembers, out _payloadsMightHold, out _membersMightHold);
        _masker = masker;
        _length = message.Length;
    }

    /// <summary>Whether a scan of a message of <paramref name="length"/> bytes is held.</summary>
    public bool Holds(int length) => _length >= 0 && _length == length;

    /// <summary>Card numbers found in the message's text, cut runs included (0 when nothing is held).</summary>
    public int Found => _length >= 0 ? _found : 0;

    /// <summary>
    /// Masking the message with <paramref name="masker"/> (its text, its blob/data payloads, its sensitive members) would
    /// change nothing and report nothing: no card number in its text, no payload or sensitive member it could read. False
    /// when the scan was made for another masker (another profile's sensitive members) or none is held.
    /// </summary>
    public bool NothingToMask(PanMasker masker) =>
        _length >= 0 && ReferenceEquals(masker, _masker) && _found == 0 && !_payloadsMightHold && !_membersMightHold;

    /// <summary>No blob/data member or escape is anywhere in the message: no payload in any part of it holds a card number.</summary>
    public bool NoPayloads => _length >= 0 && !_payloadsMightHold;

    /// <summary>
    /// Whether the message's text from <paramref name="start"/>, <paramref name="length"/> bytes, holds a card number, when
    /// that part is one JSON object or array of the message (see the type's remarks): as
    /// <see cref="PanMasker.ContainsCardNumber"/> over that part would answer, or Unknown.
    /// </summary>
    public CardPresence TextHolds(int start, int length)
    {
        if (_length < 0 || start < 0 || length < 0 || start + length > _length) return CardPresence.Unknown;
        int end = start + length;
        for (int i = 0; i < _placed; i++)
        {
            if (_starts[i] >= start && _starts[i] < end) return CardPresence.Present;
        }
        return _placed == _found ? CardPresence.Absent : CardPresence.Unknown;
    }

    /// <summary>Keeps the first digit's offset of each find, up to <see cref="MaxPlaced"/>.</summary>
    private struct StartSink(int[] starts) : IPanFindingSink
    {
        public int Placed;

        public void OnCardNumber(CardBrand brand, long offset, int length, ReadOnlySpan<byte> fingerprint32)
        {
            if (Placed < starts.Length) starts[Placed++] = (int)offset;
        }

        public readonly void OnSensitiveData(SensitiveDataKind kind) { }
    }
}
