using System.Text;
using System.Text.Json;
using FastMcp.Pan.Payloads;

namespace FastMcp.Pan.Tests;

/// <summary>
/// The one scan of a message (<see cref="MessageCardScan"/>) against the readings it replaces, as the oracle: for every
/// JSON object and array inside thousands of random messages of every card-number form, what the scan says of it is what
/// scanning that part alone says (or it says it does not know); and when it says masking has nothing to do, masking the
/// message changes no byte and reports nothing.
/// </summary>
public sealed class MessageCardScanDifferentialTests
{
    private const int Messages = 3000;

    [Fact]
    public void What_the_scan_says_of_each_object_and_array_is_what_scanning_it_alone_says()
    {
        var scan = new MessageCardScan();
        PanMasker masker = TestKeys.Masker();
        int parts = 0, known = 0, holding = 0;
        for (int seed = 0; seed < Messages; seed++)
        {
            var random = new Random(seed);
            byte[] message = Encoding.UTF8.GetBytes(RandomCardMessages.ToolCall(random, out _, out _, plain: seed % 2 == 0));
            scan.Scan(message, masker);
            foreach ((int start, int length) in Containers(message))
            {
                bool alone = PanMasker.ContainsCardNumber(message.AsSpan(start, length));
                CardPresence said = scan.TextHolds(start, length);
                parts++;
                if (said == CardPresence.Unknown) continue;
                known++;
                if (alone) holding++;
                Assert.True((said == CardPresence.Present) == alone,
                    $"seed {seed}: the scan says {said} of {Encoding.UTF8.GetString(message, start, length)} in {Encoding.UTF8.GetString(message)}");
            }
        }
        // The scan answers nearly every part itself (unknown only beside a cut run or past 16 finds), both ways.
        Assert.True(known > parts * 9 / 10, $"{known} of {parts} parts answered by the scan");
        Assert.True(holding > known / 10 && holding < known * 9 / 10, $"{holding} of {known} answered parts hold a card number");
    }

    [Fact]
    public void When_the_scan_says_masking_has_nothing_to_do_masking_changes_no_byte_and_reports_nothing()
    {
        var scan = new MessageCardScan();
        PanMasker masker = TestKeys.Masker();
        int clean = 0;
        for (int seed = 0; seed < Messages; seed++)
        {
            var random = new Random(seed);
            byte[] message = Encoding.UTF8.GetBytes(random.Next(4) == 0 ? RandomCardMessages.Value(random, 1, plain: seed % 2 == 0) : RandomCardMessages.ToolCall(random, out _, out _, plain: seed % 2 == 0));
            scan.Scan(message, masker);
            byte[] strings = (byte[])message.Clone(), all = (byte[])message.Clone();
            PanMaskCounts counts = default;
            Base64Payloads.Result payloads = Base64Payloads.MaskInPlace(masker, strings, ref counts);
            int found = masker.MaskStringsInPlace(new System.Buffers.ReadOnlySequence<byte>(strings), ref counts, out int kept);
            found += masker.MaskInPlace(all);
            bool nothing = payloads == Base64Payloads.Result.Unchanged && found == 0 && kept == 0 && counts.Total == 0 && counts.Tracks == 0
                && counts.SensitiveMembers == 0 && strings.AsSpan().SequenceEqual(message) && all.AsSpan().SequenceEqual(message);
            if (scan.NothingToMask(masker))
            {
                clean++;
                Assert.True(nothing, $"seed {seed}: the scan saw nothing to mask in {Encoding.UTF8.GetString(message)}");
            }
            // The count of text finds is the masker's, cut runs included.
            Assert.Equal(PanMasker.CountCardNumbers(message), scan.Found);
        }
        Assert.True(clean > Messages / 20, $"{clean} messages with nothing to mask");
    }

    [Fact]
    public void Another_masker_or_another_message_length_is_not_answered()
    {
        var scan = new MessageCardScan();
        byte[] message = """{"a":{"note":"hello"}}"""u8.ToArray();
        PanMasker masker = TestKeys.Masker();
        Assert.False(scan.NothingToMask(masker));
        Assert.Equal(CardPresence.Unknown, scan.TextHolds(5, 16));
        scan.Scan(message, masker);
        Assert.True(scan.NothingToMask(masker));
        Assert.False(scan.NothingToMask(TestKeys.Masker(keepFirst: 0)));
        Assert.True(scan.Holds(message.Length));
        Assert.False(scan.Holds(message.Length + 1));
        Assert.Equal(CardPresence.Absent, scan.TextHolds(5, 16));
        Assert.Equal(CardPresence.Unknown, scan.TextHolds(5, message.Length));
        scan.Reset();
        Assert.False(scan.NothingToMask(masker));
        Assert.Equal(CardPresence.Unknown, scan.TextHolds(5, 16));
    }

    [Fact]
    public void A_cut_run_or_more_finds_than_are_kept_leave_the_rest_of_the_message_unknown()
    {
        var scan = new MessageCardScan();
        PanMasker masker = TestKeys.Masker();
        string cut = "4111 1111 1111 " + string.Concat(Enumerable.Repeat("\u200B", 200)) + "1111";
        byte[] message = Encoding.UTF8.GetBytes("{\"a\":{\"n\":\"" + cut + "\"},\"b\":{\"n\":\"x\"}}");
        scan.Scan(message, masker);
        Assert.Equal(1, scan.Found);
        int b = Encoding.UTF8.GetString(message).IndexOf("{\"n\":\"x\"}", StringComparison.Ordinal);
        Assert.Equal(CardPresence.Unknown, scan.TextHolds(b, 9));

        var many = new StringBuilder("{\"a\":[");
        for (int i = 0; i <= MessageCardScan.MaxPlaced; i++) many.Append("\"4111111111111111\",");
        many.Append("\"x\"],\"b\":{\"n\":\"x\"}}");
        message = Encoding.UTF8.GetBytes(many.ToString());
        scan.Scan(message, masker);
        Assert.Equal(MessageCardScan.MaxPlaced + 1, scan.Found);
        b = many.ToString().IndexOf("{\"n\":\"x\"}", StringComparison.Ordinal);
        Assert.Equal(CardPresence.Unknown, scan.TextHolds(b, 9));
        Assert.Equal(CardPresence.Present, scan.TextHolds(5, b - 10));
    }

    [Fact]
    public void Scanning_allocates_nothing()
    {
        var scan = new MessageCardScan();
        PanMasker masker = TestKeys.Masker();
        byte[] message = """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"card 4111 1111 1111 1111"}}}"""u8.ToArray();
        int arguments = message.AsSpan().IndexOf("{\"text\""u8), length = message.Length - arguments - 2;
        scan.Scan(message, masker);
        long allocated = ThreadAllocations.Measure(() =>
        {
            for (int i = 0; i < 1000; i++)
            {
                scan.Scan(message, masker);
                if (scan.TextHolds(arguments, length) != CardPresence.Present) throw new InvalidOperationException();
            }
        });
        Assert.Equal(0, allocated);
    }

    /// <summary>Every object and array in <paramref name="json"/>: its first byte and its length.</summary>
    private static List<(int Start, int Length)> Containers(byte[] json)
    {
        var found = new List<(int, int)>();
        var reader = new Utf8JsonReader(json);
        while (reader.Read())
        {
            if (reader.TokenType is not (JsonTokenType.StartObject or JsonTokenType.StartArray)) continue;
            int start = (int)reader.TokenStartIndex;
            var inner = reader;
            inner.Skip();
            found.Add((start, (int)inner.BytesConsumed - start));
        }
        return found;
    }
}
