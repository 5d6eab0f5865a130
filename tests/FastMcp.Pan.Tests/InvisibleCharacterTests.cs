using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace FastMcp.Pan.Tests;

/// <summary>
/// Characters with the Unicode property Default_Ignorable_Code_Point (ZERO WIDTH SPACE, SOFT HYPHEN, WORD JOINER, the
/// byte order mark, joiners, bidi marks and embeddings, variation selectors, Hangul fillers, tag characters, …) are
/// invisible: a card number with them between its digits renders as a plain card number. The scanner reads through
/// them: they neither end a number nor separate groups, raw in UTF-8 or as JSON escapes, and masking keeps them.
/// </summary>
public class InvisibleCharacterTests
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Every range of the property (Unicode 16), first and last code point, and one of each bidi and joiner class.</summary>
    public static readonly int[] IgnorableCodePoints =
    [
        0x00AD, 0x034F, 0x061C, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x180B, 0x180E, 0x180F,
        0x200B, 0x200C, 0x200D, 0x200E, 0x200F, 0x202A, 0x202E, 0x2060, 0x2064, 0x2065, 0x2066, 0x206F,
        0x3164, 0xFE00, 0xFE0F, 0xFEFF, 0xFFA0, 0xFFF0, 0xFFF8,
        0x1BCA0, 0x1BCA3, 0x1D173, 0x1D17A, 0xE0000, 0xE0001, 0xE0020, 0xE0041, 0xE007F, 0xE0100, 0xE01EF, 0xE0FFF,
    ];

    /// <summary>Code points next to the ranges (same lead bytes, a byte away): ordinary characters that end a number.</summary>
    public static readonly int[] Neighbours =
    [
        0x00AC, 0x00AE, 0x034E, 0x0350, 0x061B, 0x061D, 0x115E, 0x1161, 0x17B3, 0x17B6, 0x180A, 0x1810,
        0x200A, 0x2010, 0x2029, 0x2030, 0x205F, 0x2070, 0x3163, 0x3165, 0xFDFF, 0xFE10, 0xFEFE, 0xFF9F, 0xFFA1, 0xFFEF,
        0xFFF9, 0xFFFC, 0x1BC9F, 0x1BCA4, 0x1D172, 0x1D17B, 0xDFFFF, 0xE1000, 0x1F600,
    ];

    public static TheoryData<int> Ignorables() => new(IgnorableCodePoints);

    public static TheoryData<int> NotIgnorables() => new(Neighbours);

    private sealed class Recorder : IPanFindingSink
    {
        public readonly List<(CardBrand Brand, long Offset, int Length, byte[] Fingerprint)> Finds = [];

        public void OnCardNumber(CardBrand brand, long offset, int length, ReadOnlySpan<byte> fingerprint32) =>
            Finds.Add((brand, offset, length, fingerprint32.ToArray()));
    }

    private static string Raw(int codePoint) => char.ConvertFromUtf32(codePoint);

    /// <summary>The JSON escape of <paramref name="codePoint"/>, a surrogate pair of escapes above U+FFFF.</summary>
    private static string Escaped(int codePoint, bool upper)
    {
        var text = new StringBuilder();
        foreach (char c in Raw(codePoint)) text.Append("\\u").Append(((int)c).ToString(upper ? "X4" : "x4", CultureInfo.InvariantCulture));
        return text.ToString();
    }

    /// <summary><paramref name="text"/> with <paramref name="invisible"/> before, between and after all its characters.</summary>
    private static string Between(string invisible, string text)
    {
        var result = new StringBuilder(invisible);
        foreach (char c in text) result.Append(c).Append(invisible);
        return result.ToString();
    }

    private static string With(string invisible, string template) => template.Replace("_", invisible, StringComparison.Ordinal);

    private static string MaskChecked(string text)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        int length = bytes.Length;
        TestKeys.Masker().MaskInPlace(bytes);
        Assert.Equal(length, bytes.Length);
        return StrictUtf8.GetString(bytes);
    }

    private static bool Contains(string text) => PanMasker.ContainsCardNumber(Encoding.UTF8.GetBytes(text));

    [Theory]
    [MemberData(nameof(Ignorables))]
    public void AnInvisibleCharacterBetweenEveryDigitIsReadThroughAndKept(int codePoint)
    {
        string z = Raw(codePoint);
        Assert.Equal("x " + Between(z, "411111******1111") + " y", MaskChecked("x " + Between(z, "4111111111111111") + " y"));
        Assert.Equal(With(z, "card 4111_11**_****_1111 ok"), MaskChecked(With(z, "card 4111_1111_1111_1111 ok")));
        Assert.Equal(With(z, "{\"t\":\"5555 5_5** **** _4444\"}"), MaskChecked(With(z, "{\"t\":\"5555 5_555 5555 _4444\"}")));
        Assert.True(Contains(With(z, "pay 4111_1111_1111_1111")));
    }

    [Theory]
    [MemberData(nameof(Ignorables))]
    public void EscapedInvisibleCharactersInEitherLetterCaseAreReadThrough(int codePoint)
    {
        foreach (bool upper in new[] { false, true })
        {
            string z = Escaped(codePoint, upper);
            string json = "{\"p\":\"" + With(z, "4111_1111_1111_1111") + "\",\"q\":\"" + With(z, "3782 _822463 1_0005") + "\"}";
            string masked = MaskChecked(json);
            Assert.Equal("{\"p\":\"" + With(z, "4111_11**_****_1111") + "\",\"q\":\"" + With(z, "3782 _82**** *_0005") + "\"}", masked);
            using var doc = System.Text.Json.JsonDocument.Parse(masked);
            Assert.Equal(With(Raw(codePoint), "4111_11**_****_1111"), doc.RootElement.GetProperty("p").GetString());
        }
    }

    [Theory]
    [MemberData(nameof(NotIgnorables))]
    public void NeighbouringCharactersStillEndANumber(int codePoint)
    {
        string c = Raw(codePoint);
        Assert.False(Contains(With(c, "4111_1111_1111_1111")));
        Assert.False(Contains("\"" + With(Escaped(codePoint, upper: true), "4111_1111_1111_1111") + "\""));
        Assert.True(Contains(c + "4111111111111111" + c));
    }

    public static TheoryData<string, string> MixedCards()
    {
        const string zw = "\u200B", shy = "\u00AD", lrm = "\u200E", bom = "\uFEFF", tag = "\U000E0041", wj = "\u2060";
        return new()
        {
            // A separator with invisible characters next to it is still one separator.
            { "4111 " + zw + "1111" + zw + " 1111 " + shy + tag + "1111", "4111 " + zw + "11**" + zw + " **** " + shy + tag + "1111" },
            { "4111" + lrm + "-" + lrm + "1111-1111-1111", "4111" + lrm + "-" + lrm + "11**-****-1111" },
            { "amex 3782" + wj + "\u00A0822463" + bom + "\u202F10005.", "amex 3782" + wj + "\u00A082****" + bom + "\u202F*0005." },
            // With other digit scripts and their separators.
            { "４１１１" + zw + "　１１１１　" + shy + "1111" + tag + " ۱۱۱۱", "４１１１" + zw + "　１１＊＊　" + shy + "****" + tag + " ۱۱۱۱" },
            { "४१११" + lrm + "११११" + "\\u200b" + "1111" + "\\uDB40\\uDC41" + "1111", "४१११" + lrm + "११＊＊" + "\\u200b" + "****" + "\\uDB40\\uDC41" + "1111" },
            // Escaped digits with raw invisible characters, and the other way round.
            { "\"\\u0034" + zw + "111\\u00ad 1111 1111 1111\"", "\"\\u0034" + zw + "111\\u00ad 11** **** 1111\"" },
            // Several in a row, of several kinds.
            { "4111" + zw + shy + lrm + bom + tag + tag + "111111111111", "4111" + zw + shy + lrm + bom + tag + tag + "11******1111" },
        };
    }

    [Theory]
    [MemberData(nameof(MixedCards))]
    public void InvisibleCharactersMixWithSeparatorsAndOtherDigits(string input, string expected)
    {
        // The first 6 and last 4 digits stay wherever the invisible characters fall.
        Assert.Equal(expected, MaskChecked(input));
        Assert.True(Contains(input));
    }

    public static TheoryData<string> NotCards()
    {
        const string zw = "\u200B", shy = "\u00AD", bom = "\uFEFF", tag = "\U000E0041";
        return new()
        {
            // A letter blocks the number though an invisible character stands between: a reader sees ORD4111….
            "order ORD" + zw + "4111111111111111",
            "order ORD" + bom + "4111111111111111",
            "order ORD" + tag + "4111111111111111",
            "order ORD" + shy + zw + tag + "4111 1111 1111 1111",
            "{\"o\":\"ORD\\u200b4111111111111111\"}",
            "{\"o\":\"ORD\\uDB40\\uDC41\\u00AD4111111111111111\"}",
            "4111111111111111" + zw + "abc",
            "4111 1111 1111 1111" + tag + "x",
            "call +" + zw + "4111111111111111 now",
            // Two separators stay two separators, an invisible character between them or not.
            "4111 " + zw + " 1111 1111 1111",
            "4111-" + shy + " 1111 1111 1111",
            // Luhn-invalid and not-a-brand numbers stay unmasked.
            With(zw, "4111_1111_1111_1112"),
            Between(shy, "4111111111111112"),
            Between(tag, "1234567890123456"),
            With("\\u200b", "\"4111_1111_1111_1112\""),
            // The invisible characters do not stitch a fraction or a longer run into a card.
            "0." + zw + "4111111111111111",
            Between(zw, "41111111111111111111"),
        };
    }

    [Theory]
    [MemberData(nameof(NotCards))]
    public void NumbersTheRulesDoNotFlagStayUnflaggedAndUnchanged(string text)
    {
        Assert.False(Contains(text));
        Assert.Equal(text, MaskChecked(text));
    }

    [Fact]
    public void OneCardHasOneFingerprintWithOrWithoutInvisibleCharacters()
    {
        string[] forms =
        [
            "4111111111111111",
            Between("\u200B", "4111111111111111"),
            With("\u00AD", "4111_1111_1111_1111"),
            "4111 \u2060" + "1111 1111 1111",
            With("\\u200b", "4111_1111_1111_1111"),
            With("\U000E0041", "4111_1111_1111_1111"),
            With("\\udb40\\udc41", "4111_1111_1111_1111"),
        ];
        // The byte length runs from the first digit's first byte to the last digit's last byte.
        int[] byteLengths = [16, 16 + 15 * 3, 16 + 3 * 2, 19 + 3, 16 + 3 * 6, 16 + 3 * 4, 16 + 3 * 12];
        int[] starts = [0, 3, 0, 0, 0, 0, 0];
        byte[] bytes = Encoding.UTF8.GetBytes(string.Join(" | ", forms));
        var recorder = new Recorder();
        Assert.Equal(forms.Length, TestKeys.Masker().MaskInPlace(bytes, ref recorder));
        byte[] expected = HMACSHA256.HashData(TestKeys.Key, "4111111111111111"u8);
        int at = 0;
        for (int k = 0; k < forms.Length; k++)
        {
            Assert.Equal(expected, recorder.Finds[k].Fingerprint);
            Assert.Equal(CardBrand.Visa, recorder.Finds[k].Brand);
            Assert.Equal((at + starts[k], byteLengths[k]), (recorder.Finds[k].Offset, recorder.Finds[k].Length));
            at += Encoding.UTF8.GetByteCount(forms[k]) + 3;
        }
    }

    [Fact]
    public void TextMaskingMasksThemToo()
    {
        byte[] text = Encoding.UTF8.GetBytes(With("\u200B", "card=4111_1111_1111_1111 id=1234_5678_9012_3456"));
        Assert.Equal(1, TestKeys.Masker().MaskTextInPlace(text));
        Assert.Equal(With("\u200B", "card=4111_11**_****_1111 id=1234_5678_9012_3456"), StrictUtf8.GetString(text));
    }

    [Fact]
    public void ABareNumberWithAnInvisibleCharacterIsMaskedWithTheMaskByte()
    {
        // Not valid JSON, so not a JSON number: '*' is as good as digits and hides them as surely.
        Assert.Equal("[4111" + "\u200B" + "11******1111]", MaskChecked("[4111" + "\u200B" + "111111111111]"));
    }

    [Fact]
    public void ExactlyTheDefaultIgnorableCodePointsAreReadThrough()
    {
        // Every code point, raw and escaped, between the 4th and 5th digit of a card: the card is found exactly when
        // the code point is Default_Ignorable_Code_Point. .NET exposes categories, not the property, so the set found
        // is checked against them: every format character (Cf) is in it but the prepended concatenation marks,
        // the interlinear annotation characters and the Egyptian hieroglyph format controls; everything in it is Cf, a
        // nonspacing mark (variation selectors, CGJ, Khmer inherent vowels, Mongolian selectors), a Hangul filler (Lo)
        // or unassigned (reserved as ignorable by the standard); and the property has 4,174 code points in Unicode 16.
        int[] formatNotIgnorable =
        [
            0x0600, 0x0601, 0x0602, 0x0603, 0x0604, 0x0605, 0x06DD, 0x070F, 0x0890, 0x0891, 0x08E2, 0x110BD, 0x110CD,
            0xFFF9, 0xFFFA, 0xFFFB,
        ];
        byte[] raw = new byte[4 + 4 + 12];
        byte[] escaped = new byte[4 + 12 + 12];
        "4111"u8.CopyTo(raw);
        "4111"u8.CopyTo(escaped);
        Span<char> utf16 = stackalloc char[2];
        var found = new List<int>();
        for (int cp = 0; cp <= 0x10FFFF; cp++)
        {
            if (cp is >= 0xD800 and <= 0xDFFF) continue;
            int units = new Rune(cp).EncodeToUtf16(utf16);
            int rawLength = 4 + new Rune(cp).EncodeToUtf8(raw.AsSpan(4));
            "111111111111"u8.CopyTo(raw.AsSpan(rawLength));
            int at = 4;
            for (int u = 0; u < units; u++)
            {
                Encoding.ASCII.GetBytes("\\u" + ((int)utf16[u]).ToString("x4", CultureInfo.InvariantCulture), escaped.AsSpan(at));
                at += 6;
            }
            "111111111111"u8.CopyTo(escaped.AsSpan(at));
            bool rawFound = PanMasker.ContainsCardNumber(raw.AsSpan(0, rawLength + 12));
            bool escapedFound = PanMasker.ContainsCardNumber(escaped.AsSpan(0, at + 12));
            Assert.True(rawFound == escapedFound, $"U+{cp:X4}: raw {rawFound}, escaped {escapedFound}");
            UnicodeCategory category = CharUnicodeInfo.GetUnicodeCategory(cp);
            if (rawFound)
            {
                found.Add(cp);
                Assert.True(category is UnicodeCategory.Format or UnicodeCategory.NonSpacingMark or UnicodeCategory.OtherLetter or UnicodeCategory.OtherNotAssigned,
                    $"U+{cp:X4} is {category}");
            }
            else if (category == UnicodeCategory.Format && cp is not (>= 0x13430 and <= 0x1343F))
            {
                Assert.True(Array.IndexOf(formatNotIgnorable, cp) >= 0, $"U+{cp:X4} is a format character the scanner does not read through");
            }
        }
        Assert.Equal(4174, found.Count);
        foreach (int cp in IgnorableCodePoints) Assert.Contains(cp, found);
        foreach (int cp in Neighbours) Assert.DoesNotContain(cp, found);
    }

    /// <summary>
    /// Past <see cref="PanStreamMasker.MaxHoldBack"/>'s share for invisible characters (more than 172 bytes of them
    /// inside one number) the candidate is cut: every digit of it, before and after, is masked, whatever Luhn says,
    /// and it counts as one card number. Documents, and what each must become.
    /// </summary>
    public static TheoryData<string, string> OverTheBound()
    {
        string zw = new('\u200B', 1000);
        string escaped = string.Concat(Enumerable.Repeat("\\u200b", 40));
        string tags = string.Concat(Enumerable.Repeat("\U000E0020", 60));
        return new()
        {
            // The head is no card on its own (12 digits), the tail is four: released as they are, a reader would see
            // the whole card.
            { "pay 4111 1111 1111" + zw + "1111 now", "pay **** **** ****" + zw + "**** now" },
            { "pay 4" + zw + "111 1111 1111 1111.", "pay *" + zw + "*** **** **** ****." },
            { "{\"t\":\"4111" + escaped + "1111 1111 1111\"}", "{\"t\":\"****" + escaped + "**** **** ****\"}" },
            { "４１１１ " + tags + "１１１１ 1111 1111 x", "＊＊＊＊ " + tags + "＊＊＊＊ **** **** x" },
            // A Luhn-invalid number is cut and masked the same: past the bound nothing is released unread.
            { "4111 1111 1111 111" + zw + "2", "**** **** **** ***" + zw + "*" },
            // The cut ends at the first character that ends a number; what follows is scanned afresh.
            { "12" + zw + "34, card 4111111111111111", "**" + zw + "**, card 411111******1111" },
        };
    }

    [Theory]
    [MemberData(nameof(OverTheBound))]
    public void PastTheBoundEveryDigitOfTheCandidateIsMaskedInOneBufferAndInReadsOfEverySize(string input, string expected)
    {
        byte[] data = Encoding.UTF8.GetBytes(input);
        int expectedCards = input.Contains("4111111111111111", StringComparison.Ordinal) ? 2 : 1;
        Assert.Equal(expected, MaskChecked(input));
        Assert.Equal(expectedCards, PanMasker.CountCardNumbers(data));
        for (int size = 1; size <= data.Length; size++)
        {
            int readSize = size;
            byte[] output = Segmented.Stream(TestKeys.Masker(), data, () => readSize, out long cards, out int maxHeld);
            Assert.Equal(expected, StrictUtf8.GetString(output));
            Assert.Equal(expectedCards, cards);
            Assert.InRange(maxHeld, 0, PanStreamMasker.MaxHoldBack);
        }
    }

    [Fact]
    public void AtTheBoundACardIsMaskedAsUsual()
    {
        // 172 bytes of invisible characters in one card (43 tag characters of 4 bytes) stay within the bound: first 6
        // and last 4 kept. One more, and the card is cut: every digit masked.
        string tags = string.Concat(Enumerable.Repeat("\U000E0020", 43));
        Assert.Equal("4111" + tags + "11******1111", MaskChecked("4111" + tags + "111111111111"));
        string over = string.Concat(Enumerable.Repeat("\U000E0020", 44));
        Assert.Equal("****" + over + "************", MaskChecked("4111" + over + "111111111111"));
    }

    [Fact]
    public void HoldBackStaysBoundedWhateverTheInvisibleCharactersAndDigits()
    {
        // Escaped digits (6 bytes each) in the longest groups with escaped separators and escaped surrogate-pair tag
        // characters (12 bytes) between everything: the window is as wide in bytes as it can get.
        var random = new Random(11);
        string[] parts = ["\\u0034", "\\u0031", "\\u0020", "\\u00a0", "\\udb40\\udc20", "\\u200b", "\U000E0020", "1", "\uFF11"];
        for (int round = 0; round < 40; round++)
        {
            var text = new StringBuilder();
            for (int k = 0; k < 3000; k++) text.Append(parts[random.Next(parts.Length)]);
            byte[] data = Encoding.UTF8.GetBytes(text.ToString());
            byte[] whole = (byte[])data.Clone();
            int count = TestKeys.Masker().MaskInPlace(whole);
            byte[] streamed = Segmented.Stream(TestKeys.Masker(), data, () => random.Next(1, 700), out long cards, out int maxHeld);
            Assert.InRange(maxHeld, 0, PanStreamMasker.MaxHoldBack);
            Assert.Equal(whole, streamed);
            Assert.Equal(count, cards);
        }
    }
}
