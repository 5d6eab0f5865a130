using System.Text;

namespace FastMcp.Pan.Tests;

/// <summary>A card number split across pipe segments or stream reads is masked exactly as in one buffer.</summary>
public class SegmentationTests
{
    public static TheoryData<string> Documents => new()
    {
        "{\"pan\":\"4111111111111111\",\"n\":5555555555554444}",
        "{\"t\":\"card 4111 1111 1111 1111 exp 12/29\"}",
        "{\"t\":\"amex 3782-822463-10005, diners 3056 930902 5904\"}",
        "{\"e\":\"\\u0034\\u0031\\u0031\\u0031111111111111\\n\"}",
        "{\"e\":\"x\\u00204111\\u00201111\\u00201111\\u00201111\\\\\"}",
        "{\"e\":\"\\u12zz4111111111111111\\u00\"}",
        "ids 1 22 333 4444 4111 1111 1111 1111 4111 1111 1111 1111 5555 5555 5555 4444 77",
        "[1.5,-4111111111111111,0.4111111111111111,1732406400000,\"41111111-1111-1111-1111-111111111111\"]",
        "4111111111111111",
        FullwidthDocumentCards[0].Document,
        FullwidthDocumentCards[1].Document,
        FullwidthDocumentCards[2].Document,
        FullwidthDocumentCards[3].Document,
        FullwidthDocumentCards[4].Document,
        ScriptDocumentCards[0].Document,
        ScriptDocumentCards[1].Document,
        ScriptDocumentCards[2].Document,
        ScriptDocumentCards[3].Document,
        SpaceDocumentCards[0].Document,
        SpaceDocumentCards[1].Document,
        SpaceDocumentCards[2].Document,
        SpaceDocumentCards[3].Document,
        InvisibleDocumentCards[0].Document,
        InvisibleDocumentCards[1].Document,
        InvisibleDocumentCards[2].Document,
        InvisibleDocumentCards[3].Document,
        InvisibleDocumentCards[4].Document,
    };

    /// <summary>
    /// Documents with fullwidth digits (3 UTF-8 bytes each, so splits fall inside characters) and the card numbers
    /// each holds, so that the split tests compare against a one-buffer result known to find them.
    /// </summary>
    private static readonly (string Document, int Cards)[] FullwidthDocumentCards =
    [
        ("４１１１１１１１１１１１１１１１", 1),
        ("{\"t\":\"カード ４１１１ １１１１ １１１１ １１１１ 期限\",\"m\":\"4111１１１１1111１１１１\"}", 2),
        ("３７８２　８２２４６３　１０００５ and ４１１１－１１１１－１１１１－１１１１。", 2),
        ("{\"e\":\"\\uFF14\\uff11\\uFF11\\uFF11\\u3000１１１１\\u30001111\\uff0d１１１１\"}", 1),
        ("ＯＲＤ４１１１１１１１１１１１１１１１＊ ４１１１－１１１１－１１１１－１１１１－１１１１ ４１１１　　１１１１", 1),
    ];

    /// <summary>
    /// Documents with Arabic-Indic, Persian and Devanagari digits (2 and 3 UTF-8 bytes, among letters that share
    /// their lead bytes) and the card numbers each holds.
    /// </summary>
    private static readonly (string Document, int Cards)[] ScriptDocumentCards =
    [
        (ArabicIndicAndDevanagariDigitTests.In("persian", "{\"t\":\"شماره کارت 4111 1111 1111 1111 تاریخ 1403/09/16\",\"m\":\"")
            + ArabicIndicAndDevanagariDigitTests.In("arabic", "4111") + "1111" + ArabicIndicAndDevanagariDigitTests.In("devanagari", "1111") + "１１１１\"}", 2),
        (ArabicIndicAndDevanagariDigitTests.In("devanagari", "कार्ड 5555-5555-5555-4444 और 3782 822463 10005।"), 2),
        ("{\"e\":\"\\u06F4\\u06f1\\u0661\\u0967 1111\\u30001111 \\u06F11\\u09671\", \"f\":\"\\u096a\\u0966\\u06f0\\u0660 x\"}", 1),
        (ArabicIndicAndDevanagariDigitTests.In("arabic", "هاتف 0912 345 6789 رقم4111111111111111 ٫ 4111\u066C1111\u066C1111\u066C1111"), 1),
    ];

    /// <summary>
    /// Documents with the no-break and typographic spaces (2 and 3 UTF-8 bytes, raw and escaped) between groups, among
    /// characters that share their lead bytes (°, «, curly quotes, dashes), and the card numbers each holds.
    /// </summary>
    private static readonly (string Document, int Cards)[] SpaceDocumentCards =
    [
        ("{\"t\":\"N° carte 4111\u00A01111\u00A01111\u00A01111 « ok »\",\"m\":\"5555\u202F5555\u202F5555\u202F4444\"}", 2),
        ("“3782\u2009822463\u200710005”—4111\u00A0\u00A01111\u00A01111\u00A01111 © 25 °C", 1),
        ("{\"e\":\"4111\\u00a01111\\u202F1111\\u20091111\", \"f\":\"4111\\u00A0\\u20071111 1111 1111\"}", 1),
        ("pan ４１１１\u00A0１１１１\u202F1111-1111 § 4111\u20081111\u20081111\u20081111", 1),
    ];

    /// <summary>
    /// Documents with invisible characters (2-, 3- and 4-byte, raw, escaped and as escaped surrogate pairs) inside card
    /// numbers, next to letters that they must not unblock, and among characters that share their lead bytes.
    /// </summary>
    private static readonly (string Document, int Cards)[] InvisibleDocumentCards =
    [
        ("{\"t\":\"4\u200B111\u00AD1111\u20601111\uFEFF1111 “ok” ORD\u200B4111111111111111 ©\",\"m\":\"5555 \u200E5555 5555\U000E0041 4444\"}", 2),
        ("{\"e\":\"4111\\u200b1111\\u00AD1111\\udb40\\udc411111\", \"f\":\"x\\uDB40\\uDC414111111111111111 \\ud83d\\ude00\"}", 1),
        ("pan ４１１１\u200D １１１１\u3164 1111\u061C-1111 ۴۱۱۱\uFE0F۱۱۱۱۱۱۱۱۱۱۱۱ ᅟ\u180E 4111\U0001D1731111\U0001BCA01111\u034F1111", 3),
        ("ab\u200B\u200B4111111111111111\u200B\u200B\u200Bcd 4111111111111111\u2061\u2062" + new string('\u200B', 300) + "2 end", 1),
        // An escaped high surrogate with no low one after it stands alone: the escaped digit after it starts a card.
        ("{\"e\":\"\\uD83D\\u0034111111111111111 \\uDB40\\u00ad\\udb40\", \"f\":\"\\ud83d\\ude00\\uDB40\\uDC20\"}", 1),
    ];

    [Fact]
    public void InvisibleDocumentsHoldTheirCardsInOneBuffer()
    {
        foreach ((string document, int cards) in InvisibleDocumentCards)
            Assert.Equal(cards, TestKeys.Masker().MaskInPlace(Encoding.UTF8.GetBytes(document)));
    }

    [Fact]
    public void SpaceDocumentsHoldTheirCardsInOneBuffer()
    {
        foreach ((string document, int cards) in SpaceDocumentCards)
            Assert.Equal(cards, TestKeys.Masker().MaskInPlace(Encoding.UTF8.GetBytes(document)));
    }

    [Fact]
    public void ScriptDocumentsHoldTheirCardsInOneBuffer()
    {
        foreach ((string document, int cards) in ScriptDocumentCards)
            Assert.Equal(cards, TestKeys.Masker().MaskInPlace(Encoding.UTF8.GetBytes(document)));
    }

    [Fact]
    public void FullwidthDocumentsHoldTheirCardsInOneBuffer()
    {
        foreach ((string document, int cards) in FullwidthDocumentCards)
            Assert.Equal(cards, TestKeys.Masker().MaskInPlace(Encoding.UTF8.GetBytes(document)));
    }

    private static byte[] Reference(string document)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(document);
        TestKeys.Masker().MaskInPlace(bytes);
        return bytes;
    }

    [Theory]
    [MemberData(nameof(Documents))]
    public void SequenceSplitAtEveryPairOfPointsMatchesOneBuffer(string document)
    {
        byte[] expected = Reference(document);
        int expectedCount = PanMasker.CountCardNumbers(Encoding.UTF8.GetBytes(document));
        PanMasker masker = TestKeys.Masker();
        int n = Encoding.UTF8.GetByteCount(document);
        for (int a = 0; a < n; a++)
        {
            for (int b = a; b < n; b += 3)
            {
                byte[] data = Encoding.UTF8.GetBytes(document);
                int count = masker.MaskInPlace(Segmented.Sequence(data, [a, b]));
                Assert.Equal(expectedCount, count);
                Assert.Equal(Encoding.UTF8.GetString(expected), Encoding.UTF8.GetString(data));
            }
        }
    }

    [Theory]
    [MemberData(nameof(Documents))]
    public void SequenceOfSingleByteSegmentsMatchesOneBuffer(string document)
    {
        byte[] expected = Reference(document);
        byte[] data = Encoding.UTF8.GetBytes(document);
        TestKeys.Masker().MaskInPlace(Segmented.Sequence(data, Enumerable.Range(1, data.Length)));
        Assert.Equal(Encoding.UTF8.GetString(expected), Encoding.UTF8.GetString(data));
    }

    [Theory]
    [MemberData(nameof(Documents))]
    public void StreamInReadsOfEverySizeMatchesOneBuffer(string document)
    {
        byte[] expected = Reference(document);
        int expectedCount = PanMasker.CountCardNumbers(Encoding.UTF8.GetBytes(document));
        for (int size = 1; size <= document.Length; size++)
        {
            int readSize = size;
            byte[] output = Segmented.Stream(TestKeys.Masker(), Encoding.UTF8.GetBytes(document), () => readSize, out long cards, out _);
            Assert.Equal(Encoding.UTF8.GetString(expected), Encoding.UTF8.GetString(output));
            Assert.Equal(expectedCount, cards);
        }
    }

    [Fact]
    public void StreamReportsStreamOffsets()
    {
        byte[] data = Encoding.UTF8.GetBytes(new string(' ', 5000) + "\"4111111111111111\"" + new string('x', 3000) + " 5555 5555 5555 4444");
        var stream = new PanStreamMasker(TestKeys.Masker());
        var offsets = new List<long>();
        var sink = new OffsetSink(offsets);
        byte[] buffer = new byte[data.Length];
        int held = 0, position = 0;
        while (true)
        {
            int read = Math.Min(700, data.Length - position);
            Array.Copy(data, position, buffer, held, read);
            position += read;
            int filled = held + read;
            bool final = position == data.Length;
            int release = stream.Process(buffer.AsSpan(0, filled), final, ref sink);
            held = filled - release;
            if (final) break;
            Array.Copy(buffer, release, buffer, 0, held);
        }
        Assert.Equal([5001L, 8019L], offsets);
        Assert.Equal(2, stream.CardsMasked);
    }

    [Fact]
    public void HoldBackStaysBoundedInEndlessGroupedDigits()
    {
        // "4111 4111 4111 ..." never ends a run; the window must slide, not grow.
        var text = new StringBuilder();
        for (int i = 0; i < 20000; i++) text.Append("\\u0034\\u0031\\u0031\\u0031 ");
        byte[] data = Encoding.UTF8.GetBytes(text.ToString());
        var random = new Random(7);
        Segmented.Stream(TestKeys.Masker(), data, () => random.Next(1, 4096), out _, out int maxHeld);
        Assert.InRange(maxHeld, 1, PanStreamMasker.MaxHoldBack);
    }

    [Fact]
    public void HoldBackStaysBoundedWhenADigitRunGoesOnPastNineteenDigitsAfterAGroup()
    {
        // "4111 " and then thousands of digits: the long run can never be part of a card, so the groups before it
        // are decided at once instead of being held until the run ends. A card before it is still masked.
        foreach (string document in new[]
        {
            "4111 " + new string('1', 5000) + " x 4111111111111111",
            "4111 1111 1111 1111 " + new string('7', 3000) + " 5555555555554444",
            "12-" + string.Concat(Enumerable.Repeat("\\u0031", 2000)) + ".",
            "4111 1111\u200B " + new string('2', 4000) + "\u200B" + new string('2', 4000),
        })
        {
            byte[] data = Encoding.UTF8.GetBytes(document);
            byte[] expected = Reference(document);
            foreach (int readSize in new[] { 1, 7, 100, 1000 })
            {
                byte[] output = Segmented.Stream(TestKeys.Masker(), data, () => readSize, out _, out int maxHeld);
                Assert.InRange(maxHeld, 0, PanStreamMasker.MaxHoldBack);
                Assert.Equal(Encoding.UTF8.GetString(expected), Encoding.UTF8.GetString(output));
            }
        }
    }

    [Fact]
    public void StreamRejectsABufferShorterThanWhatWasHeld()
    {
        var stream = new PanStreamMasker(TestKeys.Masker());
        byte[] data = "abc 4111"u8.ToArray();
        int release = stream.Process(data, isFinalBlock: false);
        Assert.Equal(4, release);
        Assert.Equal(4, stream.HeldBack);
        Assert.Throws<ArgumentException>(() => stream.Process(new byte[2], false));
        Assert.Throws<InvalidOperationException>(() => default(PanStreamMasker).Process(new byte[1], false));
    }

    private sealed class OffsetSink(List<long> offsets) : IPanFindingSink
    {
        public void OnCardNumber(CardBrand brand, long offset, int length, ReadOnlySpan<byte> fingerprint32) => offsets.Add(offset);
    }
}
