using System.Text;
using System.Text.Json;
using CsCheck;

namespace FastMcp.Pan.Tests;

/// <summary>
/// Random valid card numbers of every brand, in random formats, embedded in random JSON and split at random
/// boundaries, are always masked; random digit runs that are not card numbers are never changed; length holds.
/// </summary>
public class PropertyTests
{
    private const int Iterations = 400;

    /// <summary>One card number as it will appear in the document.</summary>
    private sealed record CardItem(CardBrand Brand, string Pan, string Encoded, bool Bare);

    private static readonly Gen<CardItem> GenCard =
        from ruleIndex in Gen.Int[0, ReferenceCards.Rules.Length - 1]
        from prefixPick in Gen.Int[0, 100]
        from lengthPick in Gen.Int[0, 100]
        from filler in Gen.Int[0, 9].Array[19]
        from format in Gen.Int[0, 4]
        from escapeBits in Gen.Int[0, int.MaxValue]
        select Build(ruleIndex, prefixPick, lengthPick, filler, format, escapeBits);

    private static CardItem Build(int ruleIndex, int prefixPick, int lengthPick, int[] filler, int format, int escapeBits)
    {
        ReferenceCards.BrandRule rule = ReferenceCards.Rules[ruleIndex];
        string prefix = rule.Prefixes[prefixPick % rule.Prefixes.Length];
        int length = rule.Lengths[lengthPick % rule.Lengths.Length];
        string pan = ReferenceCards.Make(prefix, length, filler);
        int[]? groups = ReferenceCards.Grouping(rule.Brand, length);
        // format: 0 bare JSON number, 1 plain in a string, 2 spaces, 3 dashes, 4 some digits escaped
        if (format == 0) return new CardItem(rule.Brand, pan, pan, Bare: true);
        var sb = new StringBuilder();
        int next = 0, groupIndex = 0;
        for (int i = 0; i < pan.Length; i++)
        {
            if (groups is not null && format is 2 or 3 && i == next + groups[groupIndex] && groupIndex < groups.Length - 1)
            {
                next = i;
                groupIndex++;
                sb.Append(format == 2 ? ' ' : '-');
            }
            if (format == 4 && (escapeBits >> i & 1) == 1) sb.Append("\\u").Append(((int)pan[i]).ToString("x4"));
            else sb.Append(pan[i]);
        }
        return new CardItem(rule.Brand, pan, sb.ToString(), Bare: false);
    }

    /// <summary>Text and numbers that are never card numbers: short numbers, epoch-ms timestamps, decimals, words.</summary>
    private static readonly Gen<string> GenNoise = Gen.OneOf(
        Gen.Int[0, 99999999].Select(n => n.ToString()),
        Gen.Long[1_000_000_000_000, 1_999_999_999_999].Select(n => n.ToString()),
        Gen.Int[0, 100000].Select(n => "\"" + (n / 100.0).ToString(System.Globalization.CultureInfo.InvariantCulture) + "\""),
        Gen.String[Gen.Char["abcdefghij XYZ:,./_-"], 0, 20].Select(s => JsonSerializer.Serialize(s)),
        Gen.Const("\"2026-11-24T00:00:00Z\""),
        Gen.Const("\"550e8400-e29b-41d4-a716-446655440000\""));

    private sealed record Document(string Json, CardItem[] Cards, int[] Cuts, int[] Reads);

    private static readonly Gen<Document> GenDocument =
        from parts in Gen.Frequency((1, GenCard.Select(c => (object)c)), (2, GenNoise.Select(n => (object)n))).Array[1, 10]
        from words in Gen.String[Gen.Char["abc xyz:(),.#"], 0, 6].Array[10]
        from cuts in Gen.Int[0, 4000].Array[0, 8]
        from reads in Gen.Int[1, 300].Array[1, 20]
        select Assemble(parts, words, cuts, reads);

    private static Document Assemble(object[] parts, string[] words, int[] cuts, int[] reads)
    {
        var json = new StringBuilder("{\"items\":[");
        var cards = new List<CardItem>();
        for (int i = 0; i < parts.Length; i++)
        {
            if (i > 0) json.Append(',');
            if (parts[i] is CardItem card)
            {
                cards.Add(card);
                if (card.Bare) json.Append(card.Encoded);
                else json.Append('"').Append(words[i % words.Length].Replace("\"", "")).Append(' ').Append(card.Encoded).Append(' ').Append(words[(i + 1) % words.Length]).Append('"');
            }
            else
            {
                json.Append((string)parts[i]);
            }
        }
        json.Append("]}");
        return new Document(json.ToString(), cards.ToArray(), cuts, reads);
    }

    private sealed class Recorder : IPanFindingSink
    {
        public readonly List<(CardBrand Brand, long Offset, int Length)> Finds = [];

        public void OnCardNumber(CardBrand brand, long offset, int length, ReadOnlySpan<byte> fingerprint32)
        {
            Assert.Equal(32, fingerprint32.Length);
            Finds.Add((brand, offset, length));
        }
    }

    [Fact]
    public void EmbeddedCardsAreAlwaysMaskedAtAnySplit()
    {
        PanMasker masker = TestKeys.Masker();
        GenDocument.Sample(doc =>
        {
            byte[] original = Encoding.UTF8.GetBytes(doc.Json);
            byte[] whole = (byte[])original.Clone();
            var recorder = new Recorder();
            int count = masker.MaskInPlace(whole, ref recorder);

            Assert.Equal(original.Length, whole.Length);
            Assert.Equal(doc.Cards.Length, count);
            Assert.Equal(doc.Cards.Select(c => c.Brand), recorder.Finds.Select(f => f.Brand));
            using (JsonDocument parsed = JsonDocument.Parse(whole))
            {
                int i = 0;
                foreach (JsonElement item in parsed.RootElement.GetProperty("items").EnumerateArray())
                {
                    _ = item;
                    i++;
                }
                Assert.True(i >= doc.Cards.Length);
            }
            for (int c = 0; c < doc.Cards.Length; c++)
                AssertMasked(doc.Cards[c], whole.AsSpan((int)recorder.Finds[c].Offset, recorder.Finds[c].Length));
            Assert.Equal(0, PanMasker.CountCardNumbers(whole));

            byte[] segmented = (byte[])original.Clone();
            Assert.Equal(count, masker.MaskInPlace(Segmented.Sequence(segmented, doc.Cuts.Select(x => x % original.Length))));
            Assert.Equal(whole, segmented);

            int r = 0;
            byte[] streamed = Segmented.Stream(masker, original, () => doc.Reads[r++ % doc.Reads.Length], out long streamedCount, out int maxHeld);
            Assert.Equal(whole, streamed);
            Assert.Equal(count, streamedCount);
            Assert.True(maxHeld <= PanStreamMasker.MaxHoldBack);
        }, iter: Iterations, threads: 1, print: d => d.Json);
    }

    private static void AssertMasked(CardItem card, ReadOnlySpan<byte> found)
    {
        string text = card.Bare ? Encoding.UTF8.GetString(found) : JsonSerializer.Deserialize<string>("\"" + Encoding.UTF8.GetString(found) + "\"")!;
        string digits = text.Replace(" ", "").Replace("-", "");
        Assert.Equal(card.Pan.Length, digits.Length);
        int keepFirst = 6;
        Assert.Equal(card.Pan[..keepFirst], digits[..keepFirst]);
        Assert.Equal(card.Pan[^4..], digits[^4..]);
        string middle = digits[keepFirst..^4];
        if (card.Bare) Assert.Matches("^0*1?$", middle);
        else Assert.Equal(new string('*', middle.Length), middle);
    }

    [Fact]
    public void RandomDigitRunsThatAreNotCardsAreNeverChanged()
    {
        Gen<string> genRun = Gen.Frequency(
            (3, Gen.String[Gen.Char['0', '9'], 1, 40]),
            (3, from prefix in Gen.OneOf(Gen.Const("4"), Gen.Const("51"), Gen.Const("37"), Gen.Const("6011"), Gen.Const("62"), Gen.Const("5018"), Gen.Const("36"))
                from rest in Gen.String[Gen.Char['0', '9'], 8, 18]
                select prefix + rest));
        PanMasker masker = TestKeys.Masker();
        genRun.Array[1, 12].Sample(runs =>
        {
            string text = "{\"v\":[" + string.Join(",", runs.Select((r, i) => i % 2 == 0 ? "\"id " + r + "\"" : "\"" + r + ";\"")) + "]}";
            byte[] bytes = Encoding.UTF8.GetBytes(text);
            int expected = runs.Count(ReferenceCards.IsCard);
            int count = masker.MaskInPlace(bytes);
            Assert.Equal(expected, count);
            Assert.Equal(text.Length, bytes.Length);
            if (expected == 0) Assert.Equal(text, Encoding.UTF8.GetString(bytes));
        }, iter: Iterations * 5, threads: 1, print: r => string.Join(" ", r));
    }

    [Fact]
    public void FastPathAgreesWithTheStateMachine()
    {
        // One-byte segments force every number through the per-character state machine, while one buffer takes the
        // fast paths (plain numbers, decimals, short separated groups): both must mask exactly the same bytes.
        PanMasker masker = TestKeys.Masker();
        Gen<string> token = Gen.OneOf(
            Gen.String[Gen.Char["0123456789"], 1, 20],
            Gen.Const("4111111111111111"), Gen.Const("4111 1111 1111 1111"), Gen.Const("3782-822463-10005"),
            Gen.String[Gen.Char[" -.+:,\"\\uaZe"], 1, 3],
            Gen.Const("\\u0034"), Gen.Const("\\u0020"), Gen.Const("\\n"),
            // Fullwidth digits and separators, their escapes, and 3-byte characters that share their lead bytes.
            Gen.String[Gen.Char["０１４５９"], 1, 20], Gen.Const("４１１１１１１１１１１１１１１１"), Gen.Const("４１１１　１１１１－1111 １１１１"),
            Gen.Const("\\uFF14"), Gen.Const("\\u3000"), Gen.Const("　"), Gen.Const("－"), Gen.Const("＊ア。Ａ"),
            // Arabic-Indic, Persian and Devanagari digits, their escapes, and characters that share their lead bytes
            // (letters, the danda, the Arabic decimal and thousands separators and star next to the digits' bytes).
            Gen.String[Gen.Char["٠١٤۰۱۴०१४"], 1, 20], Gen.Const("۴۱۱۱ ۱۱۱۱ ۱۱۱۱ ۱۱۱۱"), Gen.Const("٤١١١-1111-१११११११"),
            Gen.Const("\\u06F4"), Gen.Const("\\u0966"), Gen.Const("\\u0661"), Gen.Const("لمن"), Gen.Const("کارت ی"),
            Gen.Const("कार्ड"), Gen.Const("।॰"), Gen.Const("٫٬٭"), Gen.Const("ۺ"),
            // No-break and typographic spaces, their escapes, and characters that share their lead bytes.
            Gen.Const("\u00A0"), Gen.Const("\u2007"), Gen.Const("\u2009"), Gen.Const("\u202F"), Gen.Const("\\u00a0"), Gen.Const("\\u202f"),
            Gen.Const("4111\u00A01111\u202F1111\u20091111"), Gen.Const("°©«"), Gen.Const("“—”\u2008\u200A"),
            // Invisible characters, raw and escaped (a tag character as a surrogate pair, a lone high surrogate), and
            // characters that share their lead bytes (Hangul, Khmer, Mongolian, Arabic letters, emoji).
            Gen.Const("\u200B"), Gen.Const("\u00AD"), Gen.Const("\uFEFF"), Gen.Const("\u2060\u200E"), Gen.Const("\U000E0041"),
            Gen.Const("\\u200b"), Gen.Const("\\uDB40\\uDC41"), Gen.Const("\\ud83d"), Gen.Const("\\ud83d\\ude00"), Gen.Const("ORD\u200B"),
            Gen.Const("가\u3164ᅟ"), Gen.Const("ក\u17B4"), Gen.Const("ᠠ\u180E"), Gen.Const("ب\u061C"), Gen.Const("😀\U0001D173"));
        token.Array[1, 30].Select(parts => string.Concat(parts)).Sample(text =>
        {
            byte[] whole = Encoding.UTF8.GetBytes(text);
            byte[] bytewise = (byte[])whole.Clone();
            int a = masker.MaskInPlace(whole);
            int b = masker.MaskInPlace(Segmented.Sequence(bytewise, Enumerable.Range(1, bytewise.Length)));
            Assert.Equal(Encoding.UTF8.GetString(bytewise), Encoding.UTF8.GetString(whole));
            Assert.Equal(b, a);
        }, iter: Iterations * 5, threads: 1, print: t => t);
    }

    [Fact]
    public void BytesNearFullwidthFormsNeverGrowShrinkOrCrash()
    {
        // Mostly the bytes fullwidth digits and separators are made of, so truncated, invalid and complete
        // sequences meet digits, separators and chunk boundaries far more often than in random bytes.
        PanMasker masker = TestKeys.Masker();
        Gen<byte> near = Gen.OneOf(Gen.Const((byte)0xEF), Gen.Const((byte)0xBC), Gen.Const((byte)0xE3), Gen.Const((byte)0x80),
            Gen.Byte[0x8A, 0x99], Gen.Byte[(byte)'0', (byte)'9'], Gen.Const((byte)' '), Gen.Const((byte)'-'), Gen.Byte);
        StreamedMaskingAgreesWithWholeOnBytesFrom(masker, near);
    }

    [Fact]
    public void BytesNearArabicIndicPersianAndDevanagariDigitsNeverGrowShrinkOrCrash()
    {
        // Mostly the bytes these digits are made of (and their neighbours in the same blocks), so truncated, invalid
        // and complete sequences meet 64-byte block edges, chunk boundaries and separators often.
        PanMasker masker = TestKeys.Masker();
        Gen<byte> near = Gen.OneOf(Gen.Const((byte)0xD9), Gen.Const((byte)0xDB), Gen.Const((byte)0xE0), Gen.Const((byte)0xA5),
            Gen.Byte[0x9E, 0xBB], Gen.Byte[(byte)'0', (byte)'9'], Gen.Const((byte)' '), Gen.Const((byte)'-'), Gen.Byte);
        StreamedMaskingAgreesWithWholeOnBytesFrom(masker, near);
    }

    [Fact]
    public void BytesNearNoBreakAndTypographicSpacesNeverGrowShrinkOrCrash()
    {
        // Mostly the bytes these separators are made of (C2 A0, E2 80 87/89/AF) and their neighbours, so truncated,
        // invalid and complete sequences meet digits, separators and chunk boundaries often.
        PanMasker masker = TestKeys.Masker();
        Gen<byte> near = Gen.OneOf(Gen.Const((byte)0xC2), Gen.Const((byte)0xE2), Gen.Const((byte)0x80), Gen.Const((byte)0xA0),
            Gen.Byte[0x86, 0x8A], Gen.Const((byte)0xAF), Gen.Byte[(byte)'0', (byte)'9'], Gen.Const((byte)' '), Gen.Const((byte)'-'), Gen.Byte);
        StreamedMaskingAgreesWithWholeOnBytesFrom(masker, near);
    }

    [Fact]
    public void BytesNearInvisibleCharactersNeverGrowShrinkOrCrash()
    {
        // Mostly the bytes invisible characters are made of (C2 AD, CD 8F, D8 9C, E1 85 9F, E2 80 8B, E2 81 A0, EF BB BF,
        // F3 A0 81 81, …) with digits, letters and separators, so that truncated, invalid and complete sequences meet
        // letters before digits, chunk boundaries and the skip's block edges often.
        PanMasker masker = TestKeys.Masker();
        byte[] utf8 = [0xC2, 0xAD, 0xCD, 0x8F, 0xD8, 0x9C, 0xE1, 0x85, 0x9F, 0xE2, 0x80, 0x81, 0x8B, 0xA0, 0xEF, 0xBB, 0xBF, 0xF3, 0xF0];
        byte[] ascii = [(byte)'A', (byte)' ', (byte)'-', (byte)'+', (byte)'\\', (byte)'u'];
        Gen<byte> near = Gen.OneOf(Gen.Int[0, utf8.Length - 1].Select(i => utf8[i]), Gen.Byte[(byte)'0', (byte)'9'], Gen.Byte[(byte)'0', (byte)'9'],
            Gen.Int[0, ascii.Length - 1].Select(i => ascii[i]), Gen.Byte);
        StreamedMaskingAgreesWithWholeOnBytesFrom(masker, near);
    }

    [Fact]
    public void CardsWithInvisibleCharactersAnywhereAreMaskedAsWithoutThem()
    {
        // Up to 8 invisible characters at random places in a card number (within the bound): the masked text is the
        // card masked without them, with them put back where they were, and the fingerprint is the same.
        string[] cards = ["4111111111111111", "4111 1111 1111 1111", "5555-5555-5555-4444", "3782 822463 10005", "6011111111111117", "４１１１ １１１１ 1111 ۱۱۱۱"];
        string[] invisibles = ["\u200B", "\u00AD", "\u200E", "\u2060", "\uFEFF", "\U000E0041", "\\u200b", "\\u00AD", "\\udb40\\udc41"];
        PanMasker masker = TestKeys.Masker();
        Gen.Select(Gen.Int[0, cards.Length - 1], Gen.Select(Gen.Int[0, 40], Gen.Int[0, invisibles.Length - 1]).Array[0, 8], Gen.Int[1, 64])
            .Sample((cardIndex, insertions, read) =>
        {
            string card = cards[cardIndex];
            string plain = "{\"t\":\"card " + card + " ok\"}";
            byte[] plainBytes = Encoding.UTF8.GetBytes(plain);
            Assert.Equal(1, masker.MaskInPlace(plainBytes));
            string maskedPlain = Encoding.UTF8.GetString(plainBytes);
            // Insert at text positions inside the card (0 = before its first character), from the last to the first.
            int from = "{\"t\":\"card ".Length;
            string input = plain, expected = maskedPlain;
            foreach ((int at, int which) in insertions.Select(x => (Math.Min(x.Item1, card.Length), x.Item2)).OrderByDescending(x => x.Item1))
            {
                input = input.Insert(from + at, invisibles[which]);
                expected = expected.Insert(from + at, invisibles[which]);
            }
            byte[] data = Encoding.UTF8.GetBytes(input);
            byte[] whole = (byte[])data.Clone();
            Assert.Equal(1, masker.MaskInPlace(whole));
            Assert.Equal(expected, Encoding.UTF8.GetString(whole));
            byte[] streamed = Segmented.Stream(masker, data, () => read, out long cardsFound, out _);
            Assert.Equal(expected, Encoding.UTF8.GetString(streamed));
            Assert.Equal(1, cardsFound);
        }, iter: Iterations, threads: 1);
    }

    /// <summary>Byte strings drawn from <paramref name="near"/>: whole, streamed in reads of any size and byte by byte, the masks agree and the length holds.</summary>
    private static void StreamedMaskingAgreesWithWholeOnBytesFrom(PanMasker masker, Gen<byte> near)
    {
        near.Array[0, 400].Select(Gen.Int[1, 64]).Sample((bytes, read) =>
        {
            byte[] whole = (byte[])bytes.Clone();
            int count = masker.MaskInPlace(whole);
            Assert.Equal(bytes.Length, whole.Length);
            byte[] streamed = Segmented.Stream(masker, bytes, () => read, out long streamedCount, out _);
            Assert.Equal(whole, streamed);
            Assert.Equal(count, streamedCount);
            byte[] bytewise = (byte[])bytes.Clone();
            Assert.Equal(count, masker.MaskInPlace(Segmented.Sequence(bytewise, Enumerable.Range(1, bytewise.Length))));
            Assert.Equal(whole, bytewise);
        }, iter: Iterations, threads: 1);
    }

    [Fact]
    public void ArbitraryBytesNeverGrowShrinkOrCrash()
    {
        PanMasker masker = TestKeys.Masker();
        Gen.Byte.Array[0, 600].Select(Gen.Int[1, 64]).Sample((bytes, read) =>
        {
            byte[] whole = (byte[])bytes.Clone();
            int count = masker.MaskInPlace(whole);
            Assert.Equal(bytes.Length, whole.Length);
            byte[] streamed = Segmented.Stream(masker, bytes, () => read, out long streamedCount, out _);
            Assert.Equal(whole, streamed);
            Assert.Equal(count, streamedCount);
        }, iter: Iterations, threads: 1);
    }
}
