using System.Text;

namespace FastMcp.Pan.Tests;

/// <summary>
/// <see cref="TextCardPreTest"/> against the text scan it lets a caller skip: whenever it says no card number can be in a
/// text, masking the text as text changes no byte and reports nothing; on random header-like values dense in digits,
/// separators, escapes and wide digits, and on card numbers written every way a header may carry them.
/// </summary>
public sealed class TextCardPreTestTests
{
    private static readonly string[] Pieces =
    [
        "4111", "1111", "4", "1", "0", "9", " ", "-", ".", "/", "\\", "\\u0034", "a", "Z", "=", ";", "４", "١", "\u00a0", "\u200b",
        "application/json", "2025-11-25", "%B", "^", "?", "4111111111111111", "4111 1111 1111 1111", "5555555555554444",
        "378282246310005", "4222222222222", "411111111111", "５５５５５５５５５５５５４４４４",
    ];

    [Fact]
    public void Text_it_passes_over_is_text_the_scan_leaves_as_it_is()
    {
        PanMasker masker = TestKeys.Masker();
        int skipped = 0, holding = 0;
        for (int seed = 0; seed < 20000; seed++)
        {
            var random = new Random(seed);
            var text = new StringBuilder();
            int pieces = random.Next(0, 24);
            for (int i = 0; i < pieces; i++) text.Append(Pieces[random.Next(Pieces.Length)]);
            byte[] value = Encoding.UTF8.GetBytes(text.ToString()), masked = (byte[])value.Clone();
            PanMaskCounts counts = default;
            int found = masker.MaskTextInPlace(masked, ref counts);
            if (found > 0) holding++;
            if (TextCardPreTest.MightHold(value)) continue;
            skipped++;
            Assert.True(found == 0 && counts.Total == 0 && counts.Tracks == 0 && counts.SensitiveMembers == 0 && masked.AsSpan().SequenceEqual(value), $"seed {seed}: {text}");
        }
        Assert.InRange(skipped, 2000, 18000);
        Assert.True(holding > 1000, $"{holding} values held a card number");
    }

    [Theory]
    [InlineData("4111111111111111")]
    [InlineData("4111 1111 1111 1111")]
    [InlineData("4111-1111-1111-1111")]
    [InlineData("４１１１１１１１１１１１１１１１")]
    [InlineData("acct=411111111111111 1")]
    [InlineData("\\u0034111111111111111")]
    public void A_card_number_in_a_header_value_is_scanned(string value)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(value);
        Assert.True(TextCardPreTest.MightHold(bytes));
    }

    [Theory]
    [InlineData("application/json, text/event-stream")]
    [InlineData("2025-11-25")]
    [InlineData("fastmcp-load/1.0 (build 12345)")]
    [InlineData("")]
    public void A_value_with_too_few_digits_is_not(string value) =>
        Assert.False(TextCardPreTest.MightHold(Encoding.UTF8.GetBytes(value)));
}
