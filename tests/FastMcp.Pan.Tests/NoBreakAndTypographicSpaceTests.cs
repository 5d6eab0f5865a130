using System.Security.Cryptography;
using System.Text;

namespace FastMcp.Pan.Tests;

/// <summary>
/// NO-BREAK SPACE (U+00A0, what HTML's &amp;nbsp; gives), FIGURE SPACE (U+2007), THIN SPACE (U+2009) and NARROW
/// NO-BREAK SPACE (U+202F, .NET's fr-FR digit grouping) group card numbers on payment pages, in scraped HTML and in
/// locale-formatted text: each joins groups exactly where an ASCII space does, raw in UTF-8 or as a \u escape.
/// </summary>
public class NoBreakAndTypographicSpaceTests
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The four separators by the names the theories use.</summary>
    public static TheoryData<string> Separators => new() { "\u00A0", "\u2007", "\u2009", "\u202F" };

    private sealed class Recorder : IPanFindingSink
    {
        public readonly List<(CardBrand Brand, long Offset, int Length, byte[] Fingerprint)> Finds = [];

        public void OnCardNumber(CardBrand brand, long offset, int length, ReadOnlySpan<byte> fingerprint32) =>
            Finds.Add((brand, offset, length, fingerprint32.ToArray()));
    }

    /// <summary>Masks <paramref name="text"/> and checks what every mask must keep: byte length and valid UTF-8.</summary>
    private static string MaskChecked(string text)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        int length = bytes.Length;
        TestKeys.Masker().MaskInPlace(bytes);
        Assert.Equal(length, bytes.Length);
        return StrictUtf8.GetString(bytes); // throws on invalid UTF-8
    }

    private static bool Contains(string text) => PanMasker.ContainsCardNumber(Encoding.UTF8.GetBytes(text));

    /// <summary><paramref name="template"/> with every '_' written as <paramref name="separator"/>.</summary>
    private static string With(string separator, string template) => template.Replace("_", separator, StringComparison.Ordinal);

    private static string Escape(string separator, bool upper) => "\\u" + ((int)separator[0]).ToString(upper ? "X4" : "x4");

    public static TheoryData<string, string, string> SeparatedCards()
    {
        var data = new TheoryData<string, string, string>();
        foreach (string separator in new[] { "\u00A0", "\u2007", "\u2009", "\u202F" })
        {
            data.Add(separator, "card 4111_1111_1111_1111 ok", "card 4111_11**_****_1111 ok");
            data.Add(separator, "4111_1111_1111_1111", "4111_11**_****_1111");
            data.Add(separator, "{\"t\":\"5555_5555_5555_4444\"}", "{\"t\":\"5555_55**_****_4444\"}");
            data.Add(separator, "amex 3782_822463_10005.", "amex 3782_82****_*0005.");
            data.Add(separator, "diners 3056_930902_5904", "diners 3056_93****_5904");
            data.Add(separator, "[4111_1111_1111_1111]", "[4111_11**_****_1111]"); // grouped: never a bare JSON number
            data.Add(separator, "N° de carte : 4111_1111_1111_1111 « expirée »", "N° de carte : 4111_11**_****_1111 « expirée »");
            data.Add(separator, "“4111_1111_1111_1111”—©", "“4111_11**_****_1111”—©");
            // Next to letters, as a space is: only letters glued to the digits block them.
            data.Add(separator, "carte_4111_1111_1111_1111_exp", "carte_4111_11**_****_1111_exp");
            // Like a space, unlike a dash, a card may start inside a longer run of groups.
            data.Add(separator, "1234_4111_1111_1111_1111", "1234_4111_11**_****_1111");
            // Mixed with the other separators and with other digit forms, as ASCII space mixes with them.
            data.Add(separator, "card 4111_1111-1111 1111", "card 4111_11**-**** 1111");
            data.Add(separator, "card 4111\u30001111_1111\uFF0D1111", "card 4111\u300011**_****\uFF0D1111");
            data.Add(separator, "card ４１１１_１１１１_1111_۱۱۱۱", "card ４１１１_１１＊＊_****_۱۱۱۱");
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(SeparatedCards))]
    public void CardNumbersGroupedWithTheSeparatorAreMaskedAndTheSeparatorsKept(string separator, string input, string expected) =>
        Assert.Equal(With(separator, expected), MaskChecked(With(separator, input)));

    [Theory]
    [MemberData(nameof(Separators))]
    public void ContainsCardNumberSeesThem(string separator) =>
        Assert.True(Contains(With(separator, "pay 4111_1111_1111_1111")));

    [Theory]
    [InlineData("\u00A0", false)]
    [InlineData("\u00A0", true)]
    [InlineData("\u2007", false)]
    [InlineData("\u2009", true)]
    [InlineData("\u202F", false)]
    [InlineData("\u202F", true)]
    public void EscapedSeparatorsInEitherLetterCaseJoinGroups(string separator, bool upper)
    {
        string s = Escape(separator, upper);
        string json = "{\"p\":\"4111" + s + "1111" + s + "1111" + s + "1111\",\"q\":\"3782" + s + "822463 10005\"}";
        string masked = MaskChecked(json);
        using var doc = System.Text.Json.JsonDocument.Parse(masked);
        Assert.Equal(With(separator, "4111_11**_****_1111"), doc.RootElement.GetProperty("p").GetString());
        Assert.Equal(With(separator, "3782_82**** *0005"), doc.RootElement.GetProperty("q").GetString());
        // The escapes themselves are left as written.
        Assert.Equal(4, masked.Split(s).Length - 1);
    }

    [Fact]
    public void WhatSystemTextJsonWritesForAFormattedCardIsMasked()
    {
        // The default encoder escapes U+00A0 and U+202F as \u00A0 and \u202F.
        string json = System.Text.Json.JsonSerializer.Serialize(new { a = "4111\u00A01111\u00A01111\u00A01111", b = "5555\u202F5555\u202F5555\u202F4444" });
        Assert.Contains("\\u00A0", json, StringComparison.Ordinal);
        Assert.Equal(2, PanMasker.CountCardNumbers(Encoding.UTF8.GetBytes(json)));
        using var doc = System.Text.Json.JsonDocument.Parse(MaskChecked(json));
        Assert.Equal("4111\u00A011**\u00A0****\u00A01111", doc.RootElement.GetProperty("a").GetString());
        Assert.Equal("5555\u202F55**\u202F****\u202F4444", doc.RootElement.GetProperty("b").GetString());
    }

    [Theory]
    [MemberData(nameof(Separators))]
    public void TextMaskingMasksThemToo(string separator)
    {
        byte[] text = Encoding.UTF8.GetBytes(With(separator, "card=4111_1111_1111_1111 id=1234_5678_9012_3456"));
        Assert.Equal(1, TestKeys.Masker().MaskTextInPlace(text));
        Assert.Equal(With(separator, "card=4111_11**_****_1111 id=1234_5678_9012_3456"), StrictUtf8.GetString(text));
    }

    [Fact]
    public void OneCardHasOneFingerprintWhicheverSeparatorGroupsItAndItsOwnOffsetAndByteLength()
    {
        string[] forms =
        [
            "4111 1111 1111 1111",
            "4111\u00A01111\u00A01111\u00A01111",
            "4111\u20071111\u20091111\u202F1111",
            "4111\\u00a01111\\u202F1111\\u20091111",
            "４１１１\u00A0１１１１\u00A01111\u00A01111",
        ];
        int[] byteLengths = [19, 16 + 3 * 2, 16 + 3 * 3, 16 + 3 * 6, 8 * 3 + 8 + 3 * 2];
        byte[] bytes = Encoding.UTF8.GetBytes(string.Join(" | ", forms));
        var recorder = new Recorder();
        Assert.Equal(forms.Length, TestKeys.Masker().MaskInPlace(bytes, ref recorder));
        byte[] expected = HMACSHA256.HashData(TestKeys.Key, "4111111111111111"u8);
        int at = 0;
        for (int k = 0; k < forms.Length; k++)
        {
            Assert.Equal(expected, recorder.Finds[k].Fingerprint);
            Assert.Equal(CardBrand.Visa, recorder.Finds[k].Brand);
            Assert.Equal((at, byteLengths[k]), (recorder.Finds[k].Offset, recorder.Finds[k].Length));
            at += Encoding.UTF8.GetByteCount(forms[k]) + 3;
        }
    }

    /// <summary>Templates ('_' for the separator) that the ASCII-space rules do not flag, and must not flag with these.</summary>
    public static TheoryData<string, string> NotCards()
    {
        var data = new TheoryData<string, string>();
        foreach (string separator in new[] { "\u00A0", "\u2007", "\u2009", "\u202F" })
        {
            data.Add(separator, "4111__1111__1111__1111");                 // double separators
            data.Add(separator, "4111_ 1111 _1111_ 1111");                 // a separator next to an ASCII space is double too
            data.Add(separator, "4111_\u30001111_1111_1111");
            data.Add(separator, "order ORD4111_1111_1111_1111");            // ASCII letters glued on
            data.Add(separator, "4111_1111_1111_1111abc");
            data.Add(separator, "4111_1111_1111_11111");                   // not a usual grouping
            data.Add(separator, "41_11_11_11_11_11_11_11");
            data.Add(separator, "ref 2024-4111_1111_1111_1111-77");        // dash-joined id
            data.Add(separator, "call +4111_1111_1111_1111 now");
            data.Add(separator, "4111_1111_1111_1112");                    // Luhn fails
            data.Add(separator, "{\"x\":0.4111_1111_1111_1111}");
            data.Add(separator, "1_234_567_890_123_456 €");                // thousands grouping (fr-FR, SI) groups by three
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(NotCards))]
    public void NumbersTheSpaceRulesDoNotFlagAreNeitherFlaggedNorChanged(string separator, string template)
    {
        // The same template with ASCII spaces is the reference: these separators are spaces, no more.
        Assert.False(Contains(With(" ", template)));
        string text = With(separator, template);
        Assert.False(Contains(text));
        Assert.Equal(text, MaskChecked(text));
    }

    [Theory]
    [InlineData("\u2002")] // EN SPACE
    [InlineData("\u2008")] // PUNCTUATION SPACE: E2 80 88, a byte away from FIGURE SPACE
    [InlineData("\u200A")] // HAIR SPACE: E2 80 8A, a byte away from THIN SPACE
    [InlineData("\u205F")] // MEDIUM MATHEMATICAL SPACE (ZERO WIDTH SPACE is invisible, read through: InvisibleCharacterTests)
    [InlineData("\u00A7")] // SECTION SIGN: C2 A7, the same lead as NO-BREAK SPACE
    public void OtherSpacesAndNeighbouringCharactersDoNotJoinGroups(string character)
    {
        Assert.False(Contains(With(character, "4111_1111_1111_1111")));
        Assert.False(Contains("\"" + With(Escape(character, upper: true), "4111_1111_1111_1111") + "\""));
        // They end a number like any punctuation: a card next to them is found.
        Assert.True(Contains(character + "4111111111111111" + character));
    }

    [Fact]
    public void StrayLeadBytesDoNotHideTheDigitsAfterThem()
    {
        // Invalid UTF-8: a lead byte of these separators followed by ASCII digits must not swallow them.
        byte[][] inputs =
        [
            [0xC2, .. "4111111111111111"u8],
            [0xE2, 0x80, .. "4111111111111111"u8],
            [.. "4111111111111111"u8, 0xC2],
            [.. "4111111111111111"u8, 0xE2, 0x80],
            [.. "4111 1111 1111 1111"u8, 0xE2],
            [.. "4111"u8, 0xE2, 0x80, .. " 4111111111111111"u8],
            [.. "4111 1111 1111 1111"u8, 0xC2, 0xA0],          // a trailing separator ends the run like a space
        ];
        foreach (byte[] input in inputs)
        {
            byte[] copy = (byte[])input.Clone();
            Assert.Equal(1, TestKeys.Masker().MaskInPlace(copy));
            Assert.Equal(input.Length, copy.Length);
        }
    }
}
