using System.Text;

namespace FastMcp.Pan.Tests;

public class DetectionTests
{
    private static bool Contains(string text) => PanMasker.ContainsCardNumber(Encoding.UTF8.GetBytes(text));

    private sealed class Recorder : IPanFindingSink
    {
        public readonly List<(CardBrand Brand, long Offset, int Length, byte[] Fingerprint)> Finds = [];

        public void OnCardNumber(CardBrand brand, long offset, int length, ReadOnlySpan<byte> fingerprint32) =>
            Finds.Add((brand, offset, length, fingerprint32.ToArray()));
    }

    // Public test numbers the brands publish for their sandboxes (and one generated per rarer range).
    [Theory]
    [InlineData("4111111111111111", CardBrand.Visa)]
    [InlineData("4012888888881881", CardBrand.Visa)]
    [InlineData("4222222222222", CardBrand.Visa)]
    [InlineData("4111111111111111110", CardBrand.Visa)]
    [InlineData("5555555555554444", CardBrand.Mastercard)]
    [InlineData("5105105105105100", CardBrand.Mastercard)]
    [InlineData("2223003122003222", CardBrand.Mastercard)]
    [InlineData("2720990000000007", CardBrand.Mastercard)]
    [InlineData("378282246310005", CardBrand.Amex)]
    [InlineData("371449635398431", CardBrand.Amex)]
    [InlineData("6011111111111117", CardBrand.Discover)]
    [InlineData("6445644564456445", CardBrand.Discover)]
    [InlineData("6221260000000000", CardBrand.Discover)]
    [InlineData("3530111333300000", CardBrand.Jcb)]
    [InlineData("3566002020360505", CardBrand.Jcb)]
    [InlineData("30569309025904", CardBrand.DinersClub)]
    [InlineData("38520000023237", CardBrand.DinersClub)]
    [InlineData("36227206271667", CardBrand.DinersClub)]
    [InlineData("6200000000000005", CardBrand.UnionPay)]
    [InlineData("6759649826438453", CardBrand.Maestro)]
    [InlineData("501800000009", CardBrand.Maestro)]
    public void RecognisesEachBrand(string pan, CardBrand brand)
    {
        var recorder = new Recorder();
        byte[] text = Encoding.UTF8.GetBytes($"{{\"pan\":\"{pan}\"}}");
        Assert.Equal(1, TestKeys.Masker().MaskInPlace(text, ref recorder));
        Assert.Equal(brand, Assert.Single(recorder.Finds).Brand);
    }

    [Theory]
    [InlineData("4111111111111112")]              // Luhn fails
    [InlineData("5555555555554444000")]           // Mastercard is 16 digits only
    [InlineData("378282246310005000")]            // Amex is 15 digits only
    [InlineData("1700000000000000")]              // no brand starts with 1
    [InlineData("9111111111111111")]              // nor with 9
    [InlineData("2221003122003")]                 // Mastercard 2-series needs 16 digits
    [InlineData("2000000000000006")]              // below 2221
    [InlineData("5611111111111116")]              // 56 is not a Maestro IIN we accept (too wide)
    public void RejectsWrongPrefixLengthOrChecksum(string digits) => Assert.False(Contains($"\"{digits}\""));

    [Theory]
    [InlineData("{\"ts\":1732406400000}")]                          // epoch milliseconds
    [InlineData("{\"ts\":1732406400000000}")]                       // epoch microseconds
    [InlineData("{\"ts\":\"2026-11-24T00:00:00.123456789Z\"}")]
    [InlineData("{\"ts\":20241115123045}")]                         // yyyyMMddHHmmss
    [InlineData("call +6281234567899 now")]                         // E.164 phone number
    [InlineData("call +4111111111111111 now")]                      // '+' marks a phone number even when Luhn-valid
    [InlineData("tel 0049 30 123456789")]
    [InlineData("{\"id\":\"550e8400-e29b-41d4-a716-446655440000\"}")]  // UUID
    [InlineData("{\"id\":\"41111111-1111-1111-1111-111111111111\"}")]  // all-digit UUID: dashes bind the token
    [InlineData("ref 2024-4111-1111-1111-1111")]                     // card digits inside a dashed id
    [InlineData("order ORD4111111111111111")]                        // letters glued on
    [InlineData("sha 4111111111111111abc")]
    [InlineData("{\"x\":0.4111111111111111}")]                      // fraction digits
    [InlineData("{\"x\":4111111111111111.5}")]                      // integer part of a decimal
    [InlineData("{\"x\":4111111111111111e3}")]
    [InlineData("big 41111111111111111111111")]                     // longer digit run
    [InlineData("4111 1111 1111 11111")]                            // not a usual grouping
    [InlineData("41 1111 1111 1111 11")]
    [InlineData("4111  1111  1111  1111")]                          // double spaces are not one number
    public void DoesNotFlagTimestampsPhonesIdsAndFragments(string text) => Assert.False(Contains(text));

    [Theory]
    [InlineData("pan:4111111111111111")]
    [InlineData("\"4111111111111111\"")]
    [InlineData("(4111111111111111)")]
    [InlineData("card 4111111111111111.")]
    [InlineData("a\\n4111111111111111")]                             // a JSON escape is not a letter boundary
    [InlineData("a\\t4111 1111 1111 1111\\n")]
    [InlineData("x\\u00204111111111111111")]                         // escaped space before
    [InlineData("4111\\u00201111\\u00201111\\u00201111")]            // escaped separators
    [InlineData("4111\\u002d1111\\u002d1111\\u002d1111")]
    [InlineData("ids 12 4111 1111 1111 1111 99")]                    // space-separated neighbours
    [InlineData("2024 4111 1111 1111 1111")]                         // card after a space-separated year
    [InlineData("4111 1111-1111 1111")]                              // mixed separators
    [InlineData("SKU-4111111111111111")]
    [InlineData("é4111111111111111é")]                               // non-ASCII neighbours are not letters we know
    public void FlagsCardNumbersInOrdinaryContexts(string text) => Assert.True(Contains(text));

    [Fact]
    public void ReportsOffsetLengthAndKeyedFingerprint()
    {
        byte[] text = Encoding.UTF8.GetBytes("abc \"4111 1111 1111 1111\" and \"\\u0034111111111111111\"");
        var recorder = new Recorder();
        PanMasker masker = TestKeys.Masker();
        Assert.Equal(2, masker.MaskInPlace(text, ref recorder));
        Assert.Equal((CardBrand.Visa, 5L, 19), (recorder.Finds[0].Brand, recorder.Finds[0].Offset, recorder.Finds[0].Length));
        Assert.Equal((CardBrand.Visa, 31L, 21), (recorder.Finds[1].Brand, recorder.Finds[1].Offset, recorder.Finds[1].Length));
        byte[] expected = System.Security.Cryptography.HMACSHA256.HashData(TestKeys.Key, "4111111111111111"u8);
        Assert.Equal(expected, recorder.Finds[0].Fingerprint);
        Assert.Equal(expected, recorder.Finds[1].Fingerprint);
        byte[] viaApi = new byte[32];
        masker.Fingerprint("4111111111111111"u8, viaApi);
        Assert.Equal(expected, viaApi);
    }

    [Fact]
    public void FingerprintDependsOnTheKey()
    {
        var other = new PanMasker(new PanMaskingOptions { FingerprintKey = new byte[16] });
        byte[] a = new byte[32], b = new byte[32];
        TestKeys.Masker().Fingerprint("4111111111111111"u8, a);
        other.Fingerprint("4111111111111111"u8, b);
        Assert.NotEqual(a, b);
    }

    [Fact]
    public void PerRequestCountsByBrand()
    {
        byte[] text = Encoding.UTF8.GetBytes("[\"4111111111111111\",\"5555555555554444\",\"4012888888881881\",\"378282246310005\"]");
        PanMaskCounts counts = default;
        TestKeys.Masker().MaskInPlace(text, ref counts);
        Assert.Equal(4, counts.Total);
        Assert.Equal(2, counts.Of(CardBrand.Visa));
        Assert.Equal(1, counts.Of(CardBrand.Mastercard));
        Assert.Equal(1, counts.Of(CardBrand.Amex));
        Assert.Equal(0, counts.Of(CardBrand.Maestro));
    }

    [Fact]
    public void CountAndFindWithoutMasking()
    {
        byte[] text = Encoding.UTF8.GetBytes("x 4111111111111111 y 5555555555554444");
        byte[] copy = (byte[])text.Clone();
        Assert.Equal(2, PanMasker.CountCardNumbers(text));
        var recorder = new Recorder();
        Assert.Equal(2, PanMasker.FindCardNumbers(text, ref recorder));
        Assert.Equal([2L, 21L], recorder.Finds.Select(f => f.Offset));
        Assert.Equal(copy, text);
    }

    [Theory]
    [InlineData(7, 4, (byte)'*')]
    [InlineData(6, 5, (byte)'*')]
    [InlineData(6, 4, (byte)'5')]
    [InlineData(6, 4, (byte)'"')]
    [InlineData(6, 4, (byte)'\\')]
    [InlineData(6, 4, (byte)'-')]
    [InlineData(6, 4, (byte)0x80)]
    public void RejectsInvalidOptions(int keepFirst, int keepLast, byte mask) =>
        Assert.Throws<ArgumentException>(() => new PanMasker(new PanMaskingOptions
        {
            KeepFirst = keepFirst, KeepLast = keepLast, MaskByte = mask, FingerprintKey = TestKeys.Key,
        }));

    [Fact]
    public void RequiresAKeyUnlessFingerprintsAreOff()
    {
        Assert.Throws<ArgumentException>(() => new PanMasker(new PanMaskingOptions()));
        Assert.Throws<ArgumentException>(() => new PanMasker(new PanMaskingOptions { FingerprintKey = new byte[15] }));
        var noKey = new PanMasker(new PanMaskingOptions { ComputeFingerprints = false });
        Assert.Throws<InvalidOperationException>(() => noKey.Fingerprint("4111111111111111"u8, new byte[32]));
        byte[] text = "\"4111111111111111\""u8.ToArray();
        Assert.Equal(1, noKey.MaskInPlace(text));
    }

    [Fact]
    public void OptionsAreCopiedAtConstruction()
    {
        var options = new PanMaskingOptions { FingerprintKey = (byte[])TestKeys.Key.Clone() };
        var masker = new PanMasker(options);
        byte[] before = new byte[32], after = new byte[32];
        masker.Fingerprint("4111111111111111"u8, before);
        options.FingerprintKey[0] ^= 0xFF;
        options.KeepFirst = 0;
        masker.Fingerprint("4111111111111111"u8, after);
        Assert.Equal(before, after);
        Assert.Equal(6, masker.KeepFirst);
    }

    [Fact]
    public void CustomMaskByte()
    {
        var masker = new PanMasker(new PanMaskingOptions { MaskByte = (byte)'X', FingerprintKey = TestKeys.Key });
        byte[] text = "\"4111111111111111\" \"\\u0034\\u0031\\u0031\\u0031\\u0031\\u0031\\u0031111111111\""u8.ToArray();
        masker.MaskInPlace(text);
        Assert.Equal("\"411111XXXXXX1111\" \"\\u0034\\u0031\\u0031\\u0031\\u0031\\u0031\\u0058XXXXX1111\"", Encoding.UTF8.GetString(text));
    }
}
