using System.Text;
using FastMcp.Pan.Payloads;

namespace FastMcp.Pan.Tests;

/// <summary>
/// The one-pass pre-tests of the member walk (<see cref="SensitiveMemberNames.MightHold"/>, <see cref="Base64Payloads.MightHold"/>,
/// and the pair <see cref="MessageCardScan"/> keeps) against the quote-by-quote readings they replaced, kept here as the
/// oracle: the same answer on random bytes dense in quotes, backslashes, \u escapes, separators and names' letters, of
/// lengths across the 64-byte blocks the pass classifies, on names placed at every offset around a block's edge, and for
/// name lists whose names start with a quote, a backslash, a digit or a separator.
/// </summary>
public sealed class MemberPreTestDifferentialTests
{
    private static readonly string[][] NameLists =
    [
        [.. SensitiveMemberNames.Default],
        ["\"x", "\\y", "a", "_b-c_", "9lives", new string('q', 64), "Content", "pa-rams"],
        ["cvv"],
    ];

    private static readonly string[] Pieces =
    [
        "\"", "\"", "\"", "\\", "\\u", "\\u0022", "\\\"", "u", "_", "-", "b", "B", "d", "D", "c", "C", "v", "p", "s", "x",
        "cvv", "CVV", "c_v-v", "pin", "pinBlock", "card_verification_value", "securitycode", "params", "content", ":", ",",
        "{", "}", "[", "]", " ", "1", "\"cvv\":", "\"data\":", "\"blob\"", "é", "\u00ff", "a", "q", "9lives", "Content",
    ];

    [Fact]
    public void Random_text_is_answered_as_the_quote_by_quote_readings_answer()
    {
        int membersTrue = 0, payloadsTrue = 0, cases = 0;
        foreach (string[] list in NameLists)
        {
            var names = new SensitiveMemberNames(list);
            var scan = new MessageCardScan();
            PanMasker masker = new(new PanMaskingOptions { FingerprintKey = TestKeys.Key, SensitiveMembers = list });
            for (int seed = 0; seed < 6000; seed++)
            {
                var random = new Random(seed);
                var text = new StringBuilder();
                int pieces = random.Next(0, seed % 7 == 0 ? 200 : 60);
                for (int i = 0; i < pieces; i++) text.Append(Pieces[random.Next(Pieces.Length)]);
                byte[] json = Encoding.UTF8.GetBytes(text.ToString());
                cases++;
                bool members = OldMembersMightHold(list, json), payloads = OldPayloadsMightHold(json);
                membersTrue += members ? 1 : 0;
                payloadsTrue += payloads ? 1 : 0;
                Assert.True(members == names.MightHold(json), $"members, names [{string.Join(",", list)}], seed {seed}: {text}");
                Assert.True(payloads == Base64Payloads.MightHold(json), $"payloads, seed {seed}: {text}");
                scan.Scan(json, masker);
                Assert.True(scan.NoPayloads == !payloads, $"scan's payloads, seed {seed}: {text}");
                bool nothing = PanMasker.CountCardNumbers(json) == 0 && !payloads && !members;
                Assert.True(scan.NothingToMask(masker) == nothing, $"scan's nothing to mask, seed {seed}: {text}");
            }
        }
        // Both answers are reached often both ways (the inputs are not all one-sided).
        Assert.InRange(membersTrue, cases / 10, cases * 9 / 10);
        Assert.InRange(payloadsTrue, cases / 10, cases * 9 / 10);
    }

    [Fact]
    public void A_name_at_every_offset_around_a_block_edge_is_answered_as_before()
    {
        string[] spellings = ["cvv", "C_V-V", "pinBlock", "card_verification_value", "cvvx", "cv", "c\\u0076v", "c\\\"vv", "params", "\"x", "9lives"];
        foreach (string[] list in NameLists)
        {
            var names = new SensitiveMemberNames(list);
            foreach (string spelling in spellings)
            {
                foreach (string filler in new[] { " ", "\"a\",", "é" })
                {
                    for (int offset = 0; offset < 140; offset++)
                    {
                        var text = new StringBuilder("{");
                        while (Encoding.UTF8.GetByteCount(text.ToString()) < offset) text.Append(filler);
                        text.Append('"').Append(spelling).Append("\":{\"a\":[\"1\"]}}");
                        foreach (string candidate in new[] { text.ToString(), text.ToString()[..^4], text.ToString().Replace("\":", "") })
                        {
                            byte[] json = Encoding.UTF8.GetBytes(candidate);
                            Assert.True(OldMembersMightHold(list, json) == names.MightHold(json), $"names [{string.Join(",", list)}]: {candidate}");
                            Assert.True(OldPayloadsMightHold(json) == Base64Payloads.MightHold(json), candidate);
                        }
                    }
                }
            }
        }
    }

    [Fact]
    public void No_names_hold_nothing_and_payload_letters_after_a_block_edge_count()
    {
        var none = new SensitiveMemberNames([]);
        Assert.False(none.MightHold("{\"cvv\":\"\\u0031\"}"u8));
        for (int offset = 60; offset < 70; offset++)
        {
            byte[] json = Encoding.ASCII.GetBytes(new string(' ', offset) + "\"data\"");
            Assert.True(Base64Payloads.MightHold(json));
            json = Encoding.ASCII.GetBytes(new string(' ', offset) + "\\u0041");
            Assert.True(Base64Payloads.MightHold(json));
            Assert.True(new SensitiveMemberNames(SensitiveMemberNames.Default).MightHold(json));
        }
    }

    /// <summary>SensitiveMemberNames.MightHold as it was: every quote, a vectorised search to the next.</summary>
    private static bool OldMembersMightHold(string[] list, ReadOnlySpan<byte> json)
    {
        var names = new SensitiveMemberNames(list);
        if (names.IsEmpty) return false;
        bool[] firstBytes = new bool[256];
        foreach (string name in list)
        {
            string normalized = name.Replace("_", "").Replace("-", "").ToLowerInvariant();
            firstBytes[normalized[0]] = true;
            if (normalized[0] is >= 'a' and <= 'z') firstBytes[normalized[0] - 0x20] = true;
        }
        firstBytes['_'] = firstBytes['-'] = true;
        if (json.IndexOf("\\u"u8) >= 0) return true;
        int at = json.IndexOf((byte)'"');
        while (at >= 0 && at + 1 < json.Length)
        {
            ReadOnlySpan<byte> rest = json[(at + 1)..];
            if (firstBytes[rest[0]])
            {
                int end = rest.IndexOfAny((byte)'"', (byte)'\\');
                if (end < 0) return false;
                if (rest[end] == (byte)'\\' || names.Matches(rest[..end])) return true;
            }
            int next = rest.IndexOf((byte)'"');
            if (next < 0) return false;
            at += 1 + next;
        }
        return false;
    }

    /// <summary>Base64Payloads.MightHold as it was: five searches.</summary>
    private static bool OldPayloadsMightHold(ReadOnlySpan<byte> json) =>
        json.IndexOf("\"d"u8) >= 0 || json.IndexOf("\"b"u8) >= 0 || json.IndexOf("\"D"u8) >= 0 || json.IndexOf("\"B"u8) >= 0
        || json.IndexOf("\\u"u8) >= 0;
}
