using System.Security.Cryptography;
using System.Text;

namespace FastMcp.Pan.Tests;

/// <summary>
/// Arabic-Indic (U+0660..0669), Extended Arabic-Indic, i.e. Persian and Urdu (U+06F0..06F9), and Devanagari
/// (U+0966..096F) digits are digits to people, models and Python's int(): a card number written with them, raw in
/// UTF-8 or as \u escapes, alone or mixed with other digits, is found and masked like an ASCII one.
/// </summary>
public class ArabicIndicAndDevanagariDigitTests
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>What a masked digit of each script becomes: 2-byte digits the Arabic five pointed star, 3-byte ones the fullwidth asterisk.</summary>
    private const char ArabicStar = '\u066D';
    private const char FullwidthAsterisk = '\uFF0A';

    private sealed class Recorder : IPanFindingSink
    {
        public readonly List<(CardBrand Brand, long Offset, int Length, byte[] Fingerprint)> Finds = [];

        public void OnCardNumber(CardBrand brand, long offset, int length, ReadOnlySpan<byte> fingerprint32) =>
            Finds.Add((brand, offset, length, fingerprint32.ToArray()));
    }

    /// <summary>Digit zero of a script by name, as the theories name them.</summary>
    private static char Zero(string script) => script switch
    {
        "arabic" => '\u0660',
        "persian" => '\u06F0',
        "devanagari" => '\u0966',
        _ => throw new ArgumentOutOfRangeException(nameof(script)),
    };

    private static char MaskOf(string script) => script == "devanagari" ? FullwidthAsterisk : ArabicStar;

    /// <summary><paramref name="template"/> with its ASCII digits written in <paramref name="script"/> and each '*' as that script's mask.</summary>
    internal static string In(string script, string template)
    {
        char zero = Zero(script);
        var text = new StringBuilder(template.Length);
        foreach (char c in template)
        {
            if (c is >= '0' and <= '9') text.Append((char)(zero + (c - '0')));
            else if (c == '*') text.Append(MaskOf(script));
            else text.Append(c);
        }
        return text.ToString();
    }

    private static string Escaped(string script, string asciiDigits, bool upper)
    {
        var text = new StringBuilder();
        foreach (char c in In(script, asciiDigits)) text.Append("\\u").Append(((int)c).ToString(upper ? "X4" : "x4"));
        return text.ToString();
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

    public static TheoryData<string, string, string> ScriptCards()
    {
        var data = new TheoryData<string, string, string>();
        foreach (string script in new[] { "arabic", "persian", "devanagari" })
        {
            data.Add(script, "pan 4111111111111111", "pan 411111******1111");
            data.Add(script, "4111111111111111", "411111******1111");
            data.Add(script, "{\"t\":\"5555555555554444\"}", "{\"t\":\"555555******4444\"}");
            data.Add(script, "amex 378282246310005.", "amex 378282*****0005.");
            data.Add(script, "شماره کارت 4111111111111111 است", "شماره کارت 411111******1111 است");
            data.Add(script, "कार्ड संख्या 4111111111111111 है।", "कार्ड संख्या 411111******1111 है।");
            data.Add(script, "کارت4111111111111111", "کارت411111******1111"); // non-ASCII letters do not block
            data.Add(script, "card 4111 1111 1111 1111 ok", "card 4111 11** **** 1111 ok");
            data.Add(script, "card 4111-1111-1111-1111", "card 4111-11**-****-1111");
            data.Add(script, "card 4111\u30001111\u30001111\uFF0D1111", "card 4111\u300011**\u3000****\uFF0D1111");
            data.Add(script, "amex 3782 822463 10005", "amex 3782 82**** *0005");
            data.Add(script, "{\"n\":4111111111111111}", "{\"n\":411111******1111}"); // never a bare JSON number
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(ScriptCards))]
    public void CardNumbersInEachScriptAreMaskedWithTheScriptsMaskCharacter(string script, string input, string expected) =>
        Assert.Equal(In(script, expected), MaskChecked(In(script, input)));

    [Theory]
    [InlineData("persian", "arabic")]
    [InlineData("arabic", "devanagari")]
    [InlineData("devanagari", "persian")]
    public void ScriptsMixWithEachOtherAndWithAsciiAndFullwidthDigitsInOneNumber(string a, string b)
    {
        Assert.Equal("pan " + In(a, "4111") + In(b, "11**") + "****" + In(a, "1111"),
            MaskChecked("pan " + In(a, "4111") + In(b, "1111") + "1111" + In(a, "1111")));
        Assert.Equal("pan " + In(a, "4111 11**") + " ＊＊＊＊ " + In(b, "1111"),
            MaskChecked("pan " + In(a, "4111 1111") + " １１１１ " + In(b, "1111")));
        Assert.Equal(In(a, "4") + "11111******" + In(b, "111") + "1", MaskChecked(In(a, "4") + "11111111111" + In(b, "111") + "1"));
    }

    [Theory]
    [InlineData("arabic", false)]
    [InlineData("persian", true)]
    [InlineData("devanagari", false)]
    [InlineData("devanagari", true)]
    public void EscapedDigitsInEitherLetterCaseAreMaskedAsEscapes(string script, bool upper)
    {
        string json = "{\"p\":\"" + Escaped(script, "4111111111111111", upper) + "\",\"q\":\"" + Escaped(script, "4", upper) + "111111111111111\"}";
        string masked = MaskChecked(json);
        using var doc = System.Text.Json.JsonDocument.Parse(masked);
        Assert.Equal(In(script, "411111") + "******" + In(script, "1111"), doc.RootElement.GetProperty("p").GetString());
        Assert.Equal(In(script, "4") + "11111******1111", doc.RootElement.GetProperty("q").GetString());
    }

    [Fact]
    public void KeepProfilesKeepTheDigitsAsWritten()
    {
        string persian = In("persian", "4111111111111111");
        Assert.Equal(In("persian", "************1111"), MaskChecked(persian, keepFirst: 0));
        Assert.Equal(In("persian", "41111111****1111"), MaskChecked(persian, keepFirst: 8));
        string mixed = In("devanagari", "4111") + In("arabic", "1111") + "11111111";
        Assert.Equal(In("devanagari", "4111") + In("arabic", "11**") + "****1111", MaskChecked(mixed));
        Assert.Equal(In("devanagari", "****") + In("arabic", "****") + "****1111", MaskChecked(mixed, keepFirst: 0));
    }

    [Fact]
    public void ACustomMaskByteIsWrittenInItsFullwidthFormOverThreeByteDigitsAndTheArabicStarOverTwoByteOnes()
    {
        var masker = new PanMasker(new PanMaskingOptions { MaskByte = (byte)'X', FingerprintKey = TestKeys.Key });
        byte[] text = Encoding.UTF8.GetBytes(In("devanagari", "4111111111111111") + " " + In("persian", "4111111111111111"));
        Assert.Equal(2, masker.MaskInPlace(text));
        Assert.Equal(In("devanagari", "411111") + "ＸＸＸＸＸＸ" + In("devanagari", "1111") + " " + In("persian", "411111******1111"),
            StrictUtf8.GetString(text));
    }

    [Fact]
    public void TextMaskingMasksThemToo()
    {
        byte[] text = Encoding.UTF8.GetBytes("card=" + In("persian", "1234 5678 9012 3456") + " " + In("arabic", "4111 1111 1111 1111"));
        Assert.Equal(1, TestKeys.Masker().MaskTextInPlace(text));
        Assert.Equal("card=" + In("persian", "1234 5678 9012 3456") + " " + In("arabic", "4111 11** **** 1111"), StrictUtf8.GetString(text));
    }

    [Fact]
    public void TheSameCardInEveryScriptHasOneFingerprintAndItsOwnOffsetAndByteLength()
    {
        string[] forms =
        [
            "4111111111111111",
            In("arabic", "4111111111111111"),
            In("persian", "4111 1111 1111 1111"),
            In("devanagari", "4111111111111111"),
            "\"" + Escaped("persian", "4111", upper: false) + "111111111111\"",
            In("persian", "4111") + In("arabic", "1111") + In("devanagari", "1111") + "１１１１",
        ];
        int[] byteLengths = [16, 32, 35, 48, 2 + 4 * 6 + 12, 8 + 8 + 12 + 12];
        string text = string.Join(" | ", forms);
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        var recorder = new Recorder();
        Assert.Equal(forms.Length, TestKeys.Masker().MaskInPlace(bytes, ref recorder));
        byte[] expected = HMACSHA256.HashData(TestKeys.Key, "4111111111111111"u8);
        int at = 0;
        for (int k = 0; k < forms.Length; k++)
        {
            int quote = forms[k].StartsWith('"') ? 1 : 0;
            Assert.Equal(expected, recorder.Finds[k].Fingerprint);
            Assert.Equal(CardBrand.Visa, recorder.Finds[k].Brand);
            Assert.Equal((at + quote, byteLengths[k] - 2 * quote), (recorder.Finds[k].Offset, recorder.Finds[k].Length));
            at += Encoding.UTF8.GetByteCount(forms[k]) + Encoding.UTF8.GetByteCount(" | ");
        }
    }

    public static TheoryData<string, string> NotCards()
    {
        var data = new TheoryData<string, string>();
        foreach (string script in new[] { "arabic", "persian", "devanagari" })
        {
            data.Add(script, "تلفن 0912 345 6789 و 021-88776655");              // Iranian mobile and landline
            data.Add(script, "फ़ोन +91 98765 43210");                              // Indian mobile
            data.Add(script, "आधार 2345 6789 0123");                               // 12 digits in 4-4-4, no brand
            data.Add(script, "تاریخ 1403/09/16 ساعت 12:30");
            data.Add(script, "4111111111111112");                                  // Luhn fails
            data.Add(script, "order ORD4111111111111111");                         // ASCII letters glued on
            data.Add(script, "big 411111111111111111111111");                      // a longer run
            data.Add(script, "4111  1111  1111  1111");                            // double separators
            data.Add(script, "ref 2024-4111-1111-1111-1111");                      // dashed id
            data.Add(script, "call +4111111111111111 now");
            data.Add(script, "{\"x\":0.4111111111111111}");
            data.Add(script, "ts 17324064000000");                                 // no brand starts with 1
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(NotCards))]
    public void NumbersThatAreNoCardNumbersAreNeitherFlaggedNorChanged(string script, string template)
    {
        string text = In(script, template);
        Assert.False(Contains(text));
        Assert.Equal(text, MaskChecked(text));
    }

    [Fact]
    public void ArabicDecimalAndThousandsSeparatorsDoNotJoinGroups()
    {
        // U+066B (decimal) and U+066C (thousands) end a number like any punctuation: neither joins two card-length runs.
        Assert.False(Contains(In("arabic", "4111\u066C1111\u066C1111\u066C1111")));
        Assert.True(Contains(In("arabic", "4111111111111111\u066B5")));
    }

    [Fact]
    public void StrayLeadBytesDoNotHideTheDigitsAfterThem()
    {
        // Invalid UTF-8: a lead byte of these digits followed by ASCII digits must not swallow them.
        byte[][] inputs =
        [
            [0xD9, .. "4111111111111111"u8],
            [0xDB, .. "4111111111111111"u8],
            [0xE0, 0xA5, .. "4111111111111111"u8],
            [0xE0, .. " 4111111111111111"u8],
            [.. "4111111111111111"u8, 0xD9],
            [.. "4111111111111111"u8, 0xE0, 0xA5],
            [.. "4111 1111 1111 1111"u8, 0xDB],
        ];
        foreach (byte[] input in inputs)
        {
            byte[] copy = (byte[])input.Clone();
            Assert.Equal(1, TestKeys.Masker().MaskInPlace(copy));
            Assert.Equal(input.Length, copy.Length);
        }
    }

    [Fact]
    public void ADigitAtEveryOffsetOfA64ByteBlockIsFound()
    {
        // The fast skip classifies 64-byte blocks: a digit whose bytes straddle a block edge must still stop it.
        foreach (string script in new[] { "arabic", "persian", "devanagari" })
        {
            for (int pad = 0; pad < 70; pad++)
            {
                string text = new string('x', pad) + " " + In(script, "4111111111111111") + " " + new string('y', 80);
                Assert.True(Contains(text), $"{script}, {pad} bytes before");
                string arabicText = new string('\u0644', pad) + " " + In(script, "4111111111111111") + " " + new string('\u0928', 40);
                Assert.True(Contains(arabicText), $"{script} after {pad} Arabic letters");
            }
        }
    }
}
