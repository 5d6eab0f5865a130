using System.Buffers;
using System.Text;

namespace FastMcp.Pan.Tests;

/// <summary>
/// Card numbers written as bare JSON numbers can be kept (found, fingerprinted, counted, not rewritten), and text
/// that is not JSON (header values, log lines) is masked with the mask byte only.
/// </summary>
public class NumberAndTextMaskingTests
{
    private struct Fingerprints : IPanFindingSink
    {
        public int Count;
        public int WithFingerprint;

        public void OnCardNumber(CardBrand brand, long offset, int length, ReadOnlySpan<byte> fingerprint32)
        {
            Count++;
            if (fingerprint32.Length == PanMasker.FingerprintLength) WithFingerprint++;
        }
    }

    private static (string Masked, int Found, int Kept, Fingerprints Sink) KeepNumbers(string json, int splitAt = -1)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(json);
        ReadOnlySequence<byte> sequence = splitAt < 0 ? new ReadOnlySequence<byte>(bytes) : Segmented.Sequence(bytes, [splitAt]);
        Fingerprints sink = default;
        int found = TestKeys.Masker().MaskStringsInPlace(sequence, ref sink, out int kept);
        return (Encoding.UTF8.GetString(sequence.ToArray()), found, kept, sink);
    }

    [Fact]
    public void A_bare_number_is_found_and_fingerprinted_but_not_rewritten()
    {
        var (masked, found, kept, sink) = KeepNumbers("""{"id":4111111111111111,"note":"card 5555555555554444"}""");
        Assert.Equal("""{"id":4111111111111111,"note":"card 555555******4444"}""", masked);
        Assert.Equal(2, found);
        Assert.Equal(1, kept);
        Assert.Equal(2, sink.WithFingerprint);
    }

    [Theory]
    [InlineData(3)]
    [InlineData(10)]
    [InlineData(20)]
    [InlineData(40)]
    public void Keeping_numbers_holds_across_segment_boundaries(int splitAt)
    {
        var (masked, found, kept, _) = KeepNumbers("""{"a":[4111111111111111,"4111111111111111"]}""", splitAt);
        Assert.Equal("""{"a":[4111111111111111,"411111******1111"]}""", masked);
        Assert.Equal(2, found);
        Assert.Equal(1, kept);
    }

    [Fact]
    public void Without_keeping_numbers_the_same_input_is_masked_with_digits()
    {
        byte[] bytes = Encoding.UTF8.GetBytes("""{"id":4111111111111111}""");
        Assert.Equal(1, TestKeys.Masker().MaskInPlace(bytes));
        Assert.Equal("""{"id":4111110000001111}""", Encoding.UTF8.GetString(bytes));
    }

    [Theory]
    [InlineData("4111111111111111", "411111******1111")]
    [InlineData("=:4111111111111111", "=:411111******1111")]
    [InlineData("[4111111111111111]", "[411111******1111]")]
    [InlineData("card \"x\", 4111 1111 1111 1111", "card \"x\", 4111 11** **** 1111")]
    [InlineData("no card 12345", "no card 12345")]
    public void Text_is_masked_with_the_mask_byte_even_where_json_would_have_a_number(string text, string expected)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        TestKeys.Masker().MaskTextInPlace(bytes);
        Assert.Equal(expected, Encoding.UTF8.GetString(bytes));
    }

    [Fact]
    public void Keeping_numbers_and_masking_text_allocate_nothing()
    {
        PanMasker masker = TestKeys.Masker();
        byte[] source = Encoding.UTF8.GetBytes("""{"id":4111111111111111,"note":"card 5555555555554444"}""");
        byte[] buffer = new byte[source.Length];
        Fingerprints sink = default;
        void Run()
        {
            source.CopyTo(buffer, 0);
            masker.MaskStringsInPlace(new ReadOnlySequence<byte>(buffer), ref sink, out _);
            source.CopyTo(buffer, 0);
            masker.MaskTextInPlace(buffer);
        }
        for (int i = 0; i < 50; i++) Run();
        Assert.Equal(0, ThreadAllocations.Measure(() => { for (int i = 0; i < 200; i++) Run(); }));
    }
}
