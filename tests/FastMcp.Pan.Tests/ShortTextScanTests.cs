using System.Text;
using CsCheck;

namespace FastMcp.Pan.Tests;

/// <summary>
/// Short texts (record fields, header values, small answers) are answered without the scanner when they cannot hold a
/// card number, and the scanner classifies their last block 16 bytes at a time (issue #14). Neither may change what is
/// masked: the shortest card number is still found however it is written, and a whole short text masks to the bytes the
/// same text masks to in pieces of a few bytes (pieces are never asked first, and their blocks are classified a byte at a time).
/// </summary>
public sealed class ShortTextScanTests
{
    // The shortest card number there is: 12 digits (Maestro).
    private static readonly string Shortest = ReferenceCards.Make("5018", 12, [1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);

    private static string Fullwidth(string digits) => string.Concat(digits.Select(c => (char)('０' + (c - '0'))));

    public static TheoryData<string> ShortestForms() =>
    [
        "\"" + Shortest + "\"",
        Shortest,
        "{\"note\":\"card " + Shortest + " ok\"}",
        "\"" + Shortest[..4] + " " + Shortest[4..8] + " " + Shortest[8..] + "\"",
        // 11 ASCII digits and an escaped one: only the backslash says a digit may be there.
        "\"" + Shortest[..11] + "\\u003" + Shortest[11] + "\"",
        // No ASCII digit at all: fullwidth digits.
        "\"" + Fullwidth(Shortest) + "\"",
        // A 40-byte text: its one block is classified 16 bytes at a time, the last 16 overlapping.
        "{\"type\":\"x\",\"v\":\"" + Shortest + "\"}",
    ];

    [Theory]
    [MemberData(nameof(ShortestForms))]
    public void The_shortest_card_number_is_masked_in_a_short_text_however_it_is_written(string text)
    {
        PanMasker masker = TestKeys.Masker();
        byte[] original = Encoding.UTF8.GetBytes(text);
        byte[] whole = (byte[])original.Clone();
        Assert.Equal(1, masker.MaskInPlace(whole));
        Assert.NotEqual(original, whole);
        Assert.Equal(0, PanMasker.CountCardNumbers(whole));
        byte[] pieces = (byte[])original.Clone();
        Assert.Equal(1, masker.MaskInPlace(Segmented.Sequence(pieces, Enumerable.Range(1, original.Length))));
        Assert.Equal(whole, pieces);
        byte[] asText = (byte[])original.Clone();
        Assert.Equal(1, masker.MaskTextInPlace(asText));
    }

    [Theory]
    [InlineData("{\"type\":\"McpExchange\",\"success\":true")]
    [InlineData("application/json")]
    [InlineData(",\"httpStatus\":200,\"latencyUs\":99999999,\"detail\":\"response\"")]
    [InlineData("12345678901")]
    public void A_text_with_fewer_digits_than_a_card_number_is_left_as_it_is(string text)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        var recorder = new Recorder();
        Assert.Equal(0, TestKeys.Masker().MaskInPlace(bytes, ref recorder));
        Assert.Equal(0, TestKeys.Masker().MaskTextInPlace(bytes));
        Assert.Empty(recorder.Finds);
        Assert.Equal(text, Encoding.UTF8.GetString(bytes));
    }

    private static readonly Gen<string> GenToken = Gen.OneOf(
        Gen.Int[0, 99999].Select(n => n.ToString()),
        Gen.Const(Shortest),
        Gen.Const("4111111111111111"),
        Gen.Const("4111 1111 1111 1111"),
        Gen.Const("\\u0034"),
        Gen.Const(Fullwidth("4111")),
        Gen.Const("٤١١١"),
        Gen.Const("\\\""),
        Gen.String[Gen.Char["abcxyz :,.-_/"], 0, 12]);

    private static readonly Gen<(string Text, int[] Cuts)> GenShortText =
        from tokens in GenToken.Array[0, 8]
        from bare in Gen.Bool
        from cuts in Gen.Int[1, 15].Array[40]
        select (bare && tokens.Length > 0 && tokens[0].All(char.IsAsciiDigit)
            ? "[" + tokens[0] + ",\"" + string.Join(" ", tokens.Skip(1)) + "\"]"
            : "{\"f\":\"" + string.Join(" ", tokens) + "\"}", cuts);

    [Fact]
    public void A_short_text_masks_whole_as_it_masks_in_pieces_of_a_few_bytes()
    {
        PanMasker masker = TestKeys.Masker();
        GenShortText.Sample(sample =>
        {
            byte[] original = Encoding.UTF8.GetBytes(sample.Text);
            int at = 0;
            var cuts = new List<int>();
            foreach (int step in sample.Cuts)
            {
                at += step;
                cuts.Add(at);
            }

            byte[] whole = (byte[])original.Clone();
            var wholeFinds = new Recorder();
            int wholeCount = masker.MaskInPlace(whole, ref wholeFinds);
            byte[] pieces = (byte[])original.Clone();
            var pieceFinds = new Recorder();
            int pieceCount = masker.MaskInPlace(Segmented.Sequence(pieces, cuts), ref pieceFinds);
            Assert.Equal(pieceCount, wholeCount);
            Assert.Equal(pieces, whole);
            Assert.Equal(pieceFinds.Finds, wholeFinds.Finds);

            byte[] strings = (byte[])original.Clone();
            int stringCount = masker.MaskStringsInPlace(new System.Buffers.ReadOnlySequence<byte>(strings), ref wholeFinds, out int kept);
            byte[] stringPieces = (byte[])original.Clone();
            int stringPieceCount = masker.MaskStringsInPlace(Segmented.Sequence(stringPieces, cuts), ref pieceFinds, out int keptPieces);
            Assert.Equal(stringPieceCount, stringCount);
            Assert.Equal(keptPieces, kept);
            Assert.Equal(stringPieces, strings);
        }, iter: 2000, threads: 1, print: s => s.Text);
    }

    private sealed class Recorder : IPanFindingSink
    {
        public readonly List<(CardBrand Brand, long Offset, int Length)> Finds = [];

        public void OnCardNumber(CardBrand brand, long offset, int length, ReadOnlySpan<byte> fingerprint32) => Finds.Add((brand, offset, length));
    }
}
