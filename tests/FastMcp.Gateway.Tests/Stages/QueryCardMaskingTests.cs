using System.Text;
using FastMcp.Gateway.Stages;
using FastMcp.Pan;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>Unit cases of the query rule: decoding as the upstream reads, writing back in the same width, and no allocation.</summary>
public sealed class QueryCardMaskingTests
{
    private static PanMasker Masker(byte mask = (byte)'*') => new(new PanMaskingOptions { MaskByte = mask, FingerprintKey = new byte[32] });

    [Theory]
    [InlineData("?a=1&b=2")]
    [InlineData("?x=%ZZ%4%%")]
    [InlineData("?a=4111111111111112")]
    [InlineData("")]
    public void A_query_without_a_card_number_is_left_as_it_is(string query)
    {
        byte[] bytes = Encoding.ASCII.GetBytes(query);
        CardFindings findings = default;
        Assert.True(QueryCardMasking.TryMaskInPlace(Masker(), bytes, ref findings));
        Assert.Equal(query, Encoding.ASCII.GetString(bytes));
        Assert.Equal(0, findings.Count);
        Assert.False(QueryCardMasking.HoldsCard(bytes));
    }

    [Fact]
    public void An_escape_that_hides_a_separator_keeps_the_query_s_structure()
    {
        // "%26" is a '&' inside the value: the upstream's parameter is "4111&..." split nowhere, and masking keeps it so.
        byte[] bytes = Encoding.ASCII.GetBytes("?a=x%264111111111111111&b=%3D");
        CardFindings findings = default;
        Assert.True(QueryCardMasking.TryMaskInPlace(Masker(), bytes, ref findings));
        Assert.Equal("?a=x%26411111******1111&b=%3D", Encoding.ASCII.GetString(bytes));
        Assert.Equal(1, findings.Count);
    }

    [Fact]
    public void A_long_query_is_scanned_to_its_end()
    {
        string query = "?pad=" + new string('a', 3000) + "&card=4111111111111111";
        byte[] bytes = Encoding.ASCII.GetBytes(query);
        Assert.True(QueryCardMasking.HoldsCard(bytes));
        CardFindings findings = default;
        Assert.True(QueryCardMasking.TryMaskInPlace(Masker(), bytes, ref findings));
        Assert.EndsWith("&card=411111******1111", Encoding.ASCII.GetString(bytes));
    }

    [Fact]
    public void A_mask_byte_that_would_change_the_query_s_meaning_is_not_written()
    {
        var masker = Masker((byte)'&');
        byte[] bytes = Encoding.ASCII.GetBytes("?a=4111111111111111");
        CardFindings findings = default;
        Assert.False(QueryCardMasking.TryMaskInPlace(masker, bytes, ref findings));

        // Escaped digits take the escape of the mask byte instead, which is always possible.
        bytes = Encoding.ASCII.GetBytes("?a=%34%31%31%31%31%31%31%31%31%31%31%31%31%31%31%31");
        Assert.True(QueryCardMasking.TryMaskInPlace(masker, bytes, ref findings));
        Assert.Equal("?a=%34%31%31%31%31%31%26%26%26%26%26%26%31%31%31%31", Encoding.ASCII.GetString(bytes));
    }

    [Fact]
    public void What_the_upstream_decodes_from_a_masked_query_is_the_masked_decoded_query()
    {
        // Random queries mixing literal and escaped digits, separators, '+' and stray '%': however a card number is
        // spelled, the upstream's reading of the rewritten query equals the masker's output on its reading of the
        // original, and the query keeps its length.
        var random = new Random(20261206);
        string[] pieces = ["4111111111111111", "5555555555554444", "4111 1111 1111 1111", "&", "=", "+", "%", "%2", "a", "-", "%2D", "%20", "x"];
        PanMasker masker = Masker();
        for (int round = 0; round < 2000; round++)
        {
            var text = new StringBuilder("?");
            int parts = random.Next(1, 6);
            for (int i = 0; i < parts; i++) text.Append(pieces[random.Next(pieces.Length)]);
            byte[] query = Encoding.ASCII.GetBytes(EscapeSome(text.ToString(), random));
            byte[] expected = Decode(query);
            masker.MaskTextInPlace(expected);

            byte[] rewritten = (byte[])query.Clone();
            CardFindings findings = default;
            Assert.True(QueryCardMasking.TryMaskInPlace(masker, rewritten, ref findings));
            Assert.Equal(query.Length, rewritten.Length);
            Assert.Equal(Encoding.Latin1.GetString(expected), Encoding.Latin1.GetString(Decode(rewritten)));
            Assert.False(QueryCardMasking.HoldsCard(rewritten));
        }
    }

    // Escapes about a third of the digits and spaces ("%3N", "%20"); the rest stay literal.
    private static string EscapeSome(string text, Random random)
    {
        var sb = new StringBuilder();
        foreach (char c in text)
        {
            if (char.IsAsciiDigit(c) && random.Next(3) == 0) sb.Append("%3").Append(c);
            else if (c == ' ') sb.Append(random.Next(2) == 0 ? "+" : "%20");
            else sb.Append(c);
        }
        return sb.ToString();
    }

    // The reading every upstream makes: "%XX" as a byte, '+' as a space.
    private static byte[] Decode(byte[] query)
    {
        var bytes = new List<byte>();
        for (int i = 0; i < query.Length; i++)
        {
            if (query[i] == '%' && i + 2 < query.Length && Uri.IsHexDigit((char)query[i + 1]) && Uri.IsHexDigit((char)query[i + 2]))
            {
                bytes.Add(Convert.ToByte(Encoding.ASCII.GetString(query, i + 1, 2), 16));
                i += 2;
            }
            else bytes.Add(query[i] == '+' ? (byte)' ' : query[i]);
        }
        return [.. bytes];
    }

    [Fact]
    public void Masking_a_query_allocates_nothing()
    {
        var masker = Masker();
        byte[] template = Encoding.ASCII.GetBytes("?note=card+4111+1111+1111+1111&a=%34%31%31%31%31%31%31%31%31%31%31%31%31%31%31%31");
        byte[] bytes = new byte[template.Length];
        CardFindings findings = default;
        for (int i = 0; i < 3; i++)
        {
            template.CopyTo(bytes, 0);
            QueryCardMasking.TryMaskInPlace(masker, bytes, ref findings);
        }
        Assert.Equal(0, ThreadAllocations.Measure(() =>
        {
            for (int i = 0; i < 100; i++)
            {
                template.CopyTo(bytes, 0);
                QueryCardMasking.TryMaskInPlace(masker, bytes, ref findings);
                QueryCardMasking.HoldsCard(template);
            }
        }));
    }
}
