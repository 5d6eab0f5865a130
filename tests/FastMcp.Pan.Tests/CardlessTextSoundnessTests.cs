using System.Text;

namespace FastMcp.Pan.Tests;

/// <summary>
/// The masker answers a short text that cannot hold a card number (fewer than 12 ASCII digits, no backslash, no byte above
/// 0x7F) without running its scanner (issue #14: header values, record fields). Held here against the scanner itself on
/// text dense in digits, separators, escapes and wide digits: the same text padded past the shortcut's 1 KiB reach with
/// trailing spaces (which end a number as the text's end does) is always scanned, and must find and mask the same.
/// </summary>
public sealed class CardlessTextSoundnessTests
{
    private static readonly string[] Pieces =
    [
        "4111", "1111", "4", "1", "0", "9", " ", "-", ".", "/", "\\", "\\u0034", "a", "Z", "=", ";", "４", "١", "\u00a0", "\u200b",
        "application/json", "2025-11-25", "%B", "^", "?", "4111111111111111", "4111 1111 1111 1111", "5555555555554444",
        "378282246310005", "4222222222222", "411111111111", "５５５５５５５５５５５５４４４４",
    ];

    private const int Padding = 1100;

    [Fact]
    public void A_short_text_masks_as_the_scanner_masks_it()
    {
        PanMasker masker = TestKeys.Masker();
        int cardless = 0, holding = 0;
        for (int seed = 0; seed < 20000; seed++)
        {
            var random = new Random(seed);
            var text = new StringBuilder();
            int pieces = random.Next(0, 24);
            for (int i = 0; i < pieces; i++) text.Append(Pieces[random.Next(Pieces.Length)]);
            byte[] value = Encoding.UTF8.GetBytes(text.ToString());
            byte[] shortcut = (byte[])value.Clone();
            byte[] scanned = new byte[value.Length + Padding];
            value.CopyTo(scanned, 0);
            scanned.AsSpan(value.Length).Fill((byte)' ');
            int viaShortcut = masker.MaskTextInPlace(shortcut), viaScanner = masker.MaskTextInPlace(scanned);
            Assert.True(viaShortcut == viaScanner && shortcut.AsSpan().SequenceEqual(scanned.AsSpan(0, value.Length)), $"seed {seed}: {text}");
            if (viaScanner > 0) holding++;
            else if (value.Length <= 1024 && Encoding.UTF8.GetString(value).Count(char.IsAsciiDigit) < 12 && !text.ToString().Any(c => c == '\\' || c > 0x7F)) cardless++;
        }
        // Both kinds were met: texts the shortcut answers and texts that hold a card number.
        Assert.InRange(cardless, 2000, 18000);
        Assert.True(holding > 1000, $"{holding} values held a card number");
    }

    [Theory]
    [InlineData("4111111111111111")]
    [InlineData("4111 1111 1111 1111")]
    [InlineData("4111-1111-1111-1111")]
    [InlineData("４１１１１１１１１１１１１１１１")]
    [InlineData("acct=4111111111111111; note")]
    [InlineData("\\u0034111111111111111")]
    public void A_card_number_in_a_header_value_is_masked(string value)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(value);
        Assert.Equal(1, TestKeys.Masker().MaskTextInPlace(bytes));
        Assert.NotEqual(Encoding.UTF8.GetBytes(value), bytes);
    }

    [Theory]
    [InlineData("application/json, text/event-stream")]
    [InlineData("2025-11-25")]
    [InlineData("fastmcp-load/1.0 (build 12345)")]
    [InlineData("")]
    public void A_value_with_too_few_digits_is_left_as_it_is(string value)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(value);
        Assert.Equal(0, TestKeys.Masker().MaskTextInPlace(bytes));
        Assert.Equal(value, Encoding.UTF8.GetString(bytes));
    }
}
