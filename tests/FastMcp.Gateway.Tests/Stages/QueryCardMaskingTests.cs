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
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++)
        {
            template.CopyTo(bytes, 0);
            QueryCardMasking.TryMaskInPlace(masker, bytes, ref findings);
            QueryCardMasking.HoldsCard(template);
        }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
