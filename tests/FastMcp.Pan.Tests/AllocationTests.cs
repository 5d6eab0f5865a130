using System.Text;

namespace FastMcp.Pan.Tests;

/// <summary>Steady-state scanning allocates nothing: measured around a warmed loop on this thread.</summary>
public class AllocationTests
{
    private static readonly byte[] Clean = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat(
        "{\"jsonrpc\":\"2.0\",\"id\":17,\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"Order 12345 shipped \\n at 1732406400000, total 99.50\"}]}}", 20)));

    private static readonly byte[] WithCards = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat(
        "{\"pan\":\"4111 1111 1111 1111\",\"n\":5555555555554444,\"e\":\"\\u0034111111111111111\",\"ts\":1732406400000}", 20)));

    private static readonly byte[] WithFullwidthCards = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat(
        "{\"t\":\"カード ４１１１　１１１１　１１１１　１１１１\",\"m\":\"4111１１１１1111１１１１\",\"e\":\"\\uff14111111111111111\"}", 20)));

    private static readonly byte[] WithScriptCards = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat(
        "{\"t\":\"شماره کارت ۴۱۱۱ ۱۱۱۱ ۱۱۱۱ ۱۱۱۱ تاریخ ۱۴۰۳/۰۹/۱۶\",\"m\":\"४१११١١١١1111११११\",\"e\":\"\\u06f4111111111111111\"}", 20)));

    private static readonly byte[] WithSpacedCards = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat(
        "{\"t\":\"N° carte 4111\u00A01111\u00A01111\u00A01111 « 25 °C »\",\"m\":\"“5555\u202F5555\u202F5555\u202F4444”\",\"e\":\"3782\\u2009822463\\u200710005\"}", 20)));

    private static readonly byte[] WithInvisibleCards = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat(
        "{\"t\":\"4111\u200B1111\u00AD1111\uFEFF1111 “ok” ©\",\"m\":\"5555 \u200E5555\U000E0041 5555 4444\",\"e\":\"3782\\u2060822463\\udb40\\udc2010005\"}", 20)));

    /// <summary>A JSON array of tool results with track 2 and track 1 data and security codes (one as a number, one under an escaped name).</summary>
    private static readonly byte[] WithSensitiveData = Encoding.UTF8.GetBytes("[" + string.Join(",", Enumerable.Repeat(
        "{\"track2\":\";4111111111111111=28121010000012345678?\",\"t1\":\"%B5555555555554444^DOE/JOHN^2812101000001234?\",\"cvv\":\"123\",\"c\\u0076c\":456}", 20)) + "]");

    private struct CountingSink : IPanFindingSink
    {
        public int Count;
        public int Sensitive;
        public byte Last;

        public void OnSensitiveData(SensitiveDataKind kind) => Sensitive++;

        public void OnCardNumber(CardBrand brand, long offset, int length, ReadOnlySpan<byte> fingerprint32)
        {
            Count++;
            Last = fingerprint32[0];
        }
    }

    private static long Measure(Action action) => Measure(action, out _);

    /// <param name="calls">How often <paramref name="action"/> ran, warm-up included: the measurement repeats a window a collection disturbed.</param>
    private static long Measure(Action action, out int calls)
    {
        for (int i = 0; i < 50; i++) action();
        int windows = 0;
        long allocated = ThreadAllocations.Measure(() => { windows++; for (int i = 0; i < 200; i++) action(); });
        calls = 50 + 200 * windows;
        return allocated;
    }

    [Fact]
    public void ContainsCardNumberAllocatesNothing() =>
        Assert.Equal(0, Measure(() => PanMasker.ContainsCardNumber(Clean)));

    [Fact]
    public void MaskingCleanJsonAllocatesNothing()
    {
        PanMasker masker = TestKeys.Masker();
        byte[] buffer = (byte[])Clean.Clone();
        Assert.Equal(0, Measure(() => masker.MaskInPlace(buffer)));
    }

    [Fact]
    public void MaskingCardsAllocatesNothing()
    {
        PanMasker masker = TestKeys.Masker();
        byte[] buffer = new byte[WithCards.Length];
        Assert.Equal(0, Measure(() =>
        {
            WithCards.CopyTo(buffer, 0);
            masker.MaskInPlace(buffer);
        }));
    }

    [Fact]
    public void MaskingCardsWithFingerprintsIntoAStructSinkAllocatesNothing() => AssertMaskingWithFingerprintsAllocatesNothing(WithCards);

    [Fact]
    public void MaskingFullwidthCardsWithFingerprintsAllocatesNothing() => AssertMaskingWithFingerprintsAllocatesNothing(WithFullwidthCards);

    [Fact]
    public void MaskingArabicIndicPersianAndDevanagariCardsWithFingerprintsAllocatesNothing() => AssertMaskingWithFingerprintsAllocatesNothing(WithScriptCards);

    [Fact]
    public void MaskingCardsGroupedWithNoBreakAndTypographicSpacesWithFingerprintsAllocatesNothing() => AssertMaskingWithFingerprintsAllocatesNothing(WithSpacedCards);

    [Fact]
    public void MaskingCardsWithInvisibleCharactersWithFingerprintsAllocatesNothing() => AssertMaskingWithFingerprintsAllocatesNothing(WithInvisibleCards);

    /// <summary>Masking <paramref name="input"/> (3 cards in each of its 20 repetitions) into a struct sink, 250 times over, allocates nothing.</summary>
    private static void AssertMaskingWithFingerprintsAllocatesNothing(byte[] input)
    {
        PanMasker masker = TestKeys.Masker();
        byte[] buffer = new byte[input.Length];
        CountingSink sink = default;
        long allocated = Measure(() =>
        {
            input.CopyTo(buffer, 0);
            masker.MaskInPlace(buffer, ref sink);
        }, out int calls);
        Assert.Equal(0, allocated);
        Assert.Equal(calls * 60, sink.Count);
    }

    [Fact]
    public void MaskingTracksAndSecurityCodesAllocatesNothing()
    {
        PanMasker masker = TestKeys.Masker();
        byte[] buffer = new byte[WithSensitiveData.Length];
        CountingSink sink = default;
        long allocated = Measure(() =>
        {
            WithSensitiveData.CopyTo(buffer, 0);
            masker.MaskInPlace(buffer, ref sink);
            FastMcp.Pan.Payloads.Base64Payloads.MaskInPlace(masker, buffer, ref sink);
        }, out int calls);
        Assert.Equal(0, allocated);
        Assert.Equal(calls * 40, sink.Count);
        // Two tracks and two security codes in each of the 20 repetitions.
        Assert.Equal(calls * 80, sink.Sensitive);
    }

    [Fact]
    public void StreamMaskerAllocatesNothingPerChunk()
    {
        PanMasker masker = TestKeys.Masker();
        var stream = new PanStreamMasker(masker);
        byte[] buffer = new byte[WithCards.Length + PanStreamMasker.MaxHoldBack];
        int held = 0;
        long allocated = Measure(() =>
        {
            // Feed the document in 97-byte pieces, honouring the hold-back contract.
            for (int position = 0; position < WithCards.Length; position += 97)
            {
                int read = Math.Min(97, WithCards.Length - position);
                WithCards.AsSpan(position, read).CopyTo(buffer.AsSpan(held));
                int filled = held + read;
                int release = stream.Process(buffer.AsSpan(0, filled), false);
                held = filled - release;
                buffer.AsSpan(release, held).CopyTo(buffer);
            }
        }, out int calls);
        Assert.Equal(0, allocated);
        // 60 cards a pass; at most the last card of the last pass may still be held back.
        Assert.InRange(stream.CardsMasked, calls * 60 - 1, calls * 60);
    }

    [Fact]
    public void SequenceMaskingAllocatesNothing()
    {
        PanMasker masker = TestKeys.Masker();
        byte[] data = new byte[WithCards.Length];
        var sequence = Segmented.Sequence(data, Enumerable.Range(1, 30).Select(i => i * 97));
        Assert.Equal(0, Measure(() =>
        {
            WithCards.CopyTo(data, 0);
            masker.MaskInPlace(sequence);
        }));
    }
}
