using System.Security.Cryptography;
using System.Text;

namespace FastMcp.Pan.Tests;

/// <summary>
/// FULLWIDTH digits (U+FF10..U+FF19, what Japanese input methods type) read as digits to every person and model,
/// so a card number written with them, raw in UTF-8 or as \uFF14 escapes, is found and masked like an ASCII one.
/// </summary>
public class FullwidthDigitTests
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private sealed class Recorder : IPanFindingSink
    {
        public readonly List<(CardBrand Brand, long Offset, int Length, byte[] Fingerprint)> Finds = [];

        public void OnCardNumber(CardBrand brand, long offset, int length, ReadOnlySpan<byte> fingerprint32) =>
            Finds.Add((brand, offset, length, fingerprint32.ToArray()));
    }

    /// <summary>Masks <paramref name="text"/> and checks what every mask must keep: byte length and valid UTF-8.</summary>
    private static string MaskChecked(string text, int keepFirst = 6)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        int length = bytes.Length;
        TestKeys.Masker(keepFirst).MaskInPlace(bytes);
        Assert.Equal(length, bytes.Length);
        return StrictUtf8.GetString(bytes); // throws on invalid UTF-8
    }

    private static bool Contains(string text) => PanMasker.ContainsCardNumber(Encoding.UTF8.GetBytes(text));

    [Theory]
    [InlineData("pan ４１１１１１１１１１１１１１１１", "pan ４１１１１１＊＊＊＊＊＊１１１１")]
    [InlineData("４１１１１１１１１１１１１１１１", "４１１１１１＊＊＊＊＊＊１１１１")]
    [InlineData("カード４１１１１１１１１１１１１１１１です", "カード４１１１１１＊＊＊＊＊＊１１１１です")]
    [InlineData("{\"t\":\"５５５５５５５５５５５５４４４４\"}", "{\"t\":\"５５５５５５＊＊＊＊＊＊４４４４\"}")]
    [InlineData("amex ３７８２８２２４６３１０００５", "amex ３７８２８２＊＊＊＊＊０００５")]
    public void RawFullwidthCardNumbersAreMaskedWithTheFullwidthAsterisk(string input, string expected) =>
        Assert.Equal(expected, MaskChecked(input));

    [Theory]
    [InlineData("card ４１１１ １１１１ １１１１ １１１１ ok", "card ４１１１ １１＊＊ ＊＊＊＊ １１１１ ok")]
    [InlineData("card ４１１１　１１１１　１１１１　１１１１。", "card ４１１１　１１＊＊　＊＊＊＊　１１１１。")]
    [InlineData("card ４１１１－１１１１－１１１１－１１１１", "card ４１１１－１１＊＊－＊＊＊＊－１１１１")]
    [InlineData("card ４１１１-１１１１　１１１１－１１１１", "card ４１１１-１１＊＊　＊＊＊＊－１１１１")]
    [InlineData("amex ３７８２　８２２４６３　１０００５", "amex ３７８２　８２＊＊＊＊　＊０００５")]
    public void SpacedFullwidthCardNumbersAreMaskedAndSeparatorsKept(string input, string expected) =>
        Assert.Equal(expected, MaskChecked(input));

    [Theory]
    [InlineData("pan 4111１１１１1111１１１１", "pan 4111１１＊＊****１１１１")]
    [InlineData("pan ４111111111111111", "pan ４11111******1111")]
    [InlineData("pan 411111111111111１", "pan 411111******111１")]
    [InlineData("pan 4111 １１１１ 1111 １１１１", "pan 4111 １１＊＊ **** １１１１")]
    [InlineData("pan 4111　1111　1111　1111", "pan 4111　11**　****　1111")]
    public void MixedAsciiAndFullwidthCardNumbersAreMasked(string input, string expected) =>
        Assert.Equal(expected, MaskChecked(input));

    [Fact]
    public void EscapedFullwidthDigitsAreMaskedAsEscapes()
    {
        var json = new StringBuilder("{\"p\":\"");
        foreach (char c in "４１１１１１１１１１１１１１１１") json.Append("\\u").Append(((int)c).ToString("X4"));
        json.Append("\"}");
        string masked = MaskChecked(json.ToString());
        using var doc = System.Text.Json.JsonDocument.Parse(masked);
        Assert.Equal("４１１１１１******１１１１", doc.RootElement.GetProperty("p").GetString());
    }

    [Theory]
    [InlineData("{\"p\":\"\\uFF14111111111111111\"}", "４11111******1111")]
    [InlineData("{\"p\":\"4111\\u30001111\\u30001111\\u30001111\"}", "4111　11**　****　1111")]
    [InlineData("{\"p\":\"\\uff14\\uff11\\uff11\\uff11\\uff0d1111\\uFF0D1111\\uff0d1111\"}", "４１１１－11**－****－1111")]
    public void EscapedFullwidthDigitsAndSeparatorsMixWithAscii(string json, string expectedValue)
    {
        string masked = MaskChecked(json);
        using var doc = System.Text.Json.JsonDocument.Parse(masked);
        Assert.Equal(expectedValue, doc.RootElement.GetProperty("p").GetString());
    }

    [Theory]
    [InlineData("{\"n\":４１１１１１１１１１１１１１１１}", "{\"n\":４１１１１１＊＊＊＊＊＊１１１１}")]
    [InlineData("[4111１１１１１１１１１１１１]", "[4111１１＊＊＊＊＊＊１１１１]")]
    public void FullwidthDigitsAreNeverABareJsonNumberSoTheyAreMaskedNotRewrittenWithDigits(string input, string expected) =>
        Assert.Equal(expected, MaskChecked(input));

    [Fact]
    public void ACustomMaskByteIsWrittenInItsFullwidthForm()
    {
        var masker = new PanMasker(new PanMaskingOptions { MaskByte = (byte)'X', FingerprintKey = TestKeys.Key });
        byte[] text = Encoding.UTF8.GetBytes("\"４１１１１１１１１１１１１１１１\" \"\\uff14111111111111111\"");
        Assert.Equal(2, masker.MaskInPlace(text));
        Assert.Equal("\"４１１１１１ＸＸＸＸＸＸ１１１１\" \"\\uff1411111XXXXXX1111\"", StrictUtf8.GetString(text));
    }

    [Fact]
    public void TextMaskingUsesTheFullwidthAsteriskToo()
    {
        byte[] text = Encoding.UTF8.GetBytes("card=４１１１ １１１１ １１１１ １１１１");
        Assert.Equal(1, TestKeys.Masker().MaskTextInPlace(text));
        Assert.Equal("card=４１１１ １１＊＊ ＊＊＊＊ １１１１", StrictUtf8.GetString(text));
    }

    [Fact]
    public void TheSameCardTypedEitherWayHasTheSameFingerprintOffsetAndByteLength()
    {
        string text = "a ４１１１１１１１１１１１１１１１ b 4111111111111111 c \"\\uFF14\\uFF11111111111111\\u0031\\uff11\" d ４１１１　１１１１　1111 1111";
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        var recorder = new Recorder();
        Assert.Equal(4, TestKeys.Masker().MaskInPlace(bytes, ref recorder));
        byte[] expected = HMACSHA256.HashData(TestKeys.Key, "4111111111111111"u8);
        Assert.All(recorder.Finds, find => Assert.Equal(expected, find.Fingerprint));
        Assert.All(recorder.Finds, find => Assert.Equal(CardBrand.Visa, find.Brand));
        int wide = Encoding.UTF8.GetByteCount("a ");
        Assert.Equal((wide, 48), (recorder.Finds[0].Offset, recorder.Finds[0].Length));
        int escapedStart = Encoding.UTF8.GetByteCount("a ４１１１１１１１１１１１１１１１ b 4111111111111111 c \"");
        Assert.Equal((escapedStart, 4 * 6 + 12), (recorder.Finds[2].Offset, recorder.Finds[2].Length));
        int spacedStart = Encoding.UTF8.GetByteCount("a ４１１１１１１１１１１１１１１１ b 4111111111111111 c \"\\uFF14\\uFF11111111111111\\u0031\\uff11\" d ");
        Assert.Equal((spacedStart, 8 * 3 + 2 * 3 + 9), (recorder.Finds[3].Offset, recorder.Finds[3].Length));
    }

    [Theory]
    [InlineData("{\"id\":\"４１１１１１１１－１１１１－１１１１－１１１１－１１１１１１１１１１１１\"}")] // all-digit UUID
    [InlineData("ref ２０２４－４１１１－１１１１－１１１１－１１１１")]
    [InlineData("ref 2024-４１１１-１１１１-１１１１-１１１１")]
    [InlineData("order ORD４１１１１１１１１１１１１１１１")]                 // ASCII letters glued on
    [InlineData("sha ４１１１１１１１１１１１１１１１abc")]
    [InlineData("big ４１１１１１１１１１１１１１１１１１１１１１１")]           // a longer run
    [InlineData("big 4111111111１１１１１１１１１１１１１")]
    [InlineData("４１１１　　１１１１　　１１１１　　１１１１")]                   // double separators
    [InlineData("４１１１１１１１１１１１１１１２")]                           // Luhn fails
    [InlineData("call +４１１１１１１１１１１１１１１１ now")]
    [InlineData("{\"x\":0.４１１１１１１１１１１１１１１１}")]
    [InlineData("ts １７３２４０６４０００００")]                               // epoch ms: no brand starts with 1
    public void DoesNotFlagWhatIsNotFlaggedInAscii(string text) => Assert.False(Contains(text));

    [Theory]
    [InlineData("ＯＲＤ４１１１１１１１１１１１１１１１")]                     // non-ASCII letters are not letters here
    [InlineData("２０２４ ４１１１ １１１１ １１１１ １１１１")]
    [InlineData("2024 ４１１１ １１１１ １１１１ １１１１")]
    [InlineData("2024　４１１１　１１１１　１１１１　１１１１")]
    [InlineData("４１１１１１１１１１１１１１１１．")]
    public void FlagsFullwidthCardNumbersInOrdinaryContexts(string text) => Assert.True(Contains(text));

    [Fact]
    public void StrayLeadBytesDoNotHideTheDigitsAfterThem()
    {
        // Invalid UTF-8: a lead byte of a fullwidth form followed by ASCII digits must not swallow them.
        byte[][] inputs =
        [
            [0xEF, .. "4111111111111111"u8],
            [0xEF, 0xBC, .. "4111111111111111"u8],
            [0xE3, 0x80, .. " 4111111111111111"u8],
            [.. "4111111111111111"u8, 0xEF],
            [.. "4111111111111111"u8, 0xEF, 0xBC],
            [.. "4111 1111 1111 1111"u8, 0xE3, 0x80],
        ];
        foreach (byte[] input in inputs)
        {
            byte[] copy = (byte[])input.Clone();
            Assert.Equal(1, TestKeys.Masker().MaskInPlace(copy));
            Assert.Equal(input.Length, copy.Length);
        }
    }
}
