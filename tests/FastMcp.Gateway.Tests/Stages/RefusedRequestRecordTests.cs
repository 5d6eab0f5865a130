using System.Buffers;
using System.Text;
using System.Text.RegularExpressions;
using FastMcp.Gateway.Buffers;
using FastMcp.Gateway.Proxy;
using FastMcp.Http;
using FastMcp.Pan;
using FastMcp.Gateway.Stages;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Pan.Payloads;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// A request refused because a card number in it cannot be masked in place (a base64 payload whose masked form cannot be
/// written back) is refused before its strings are masked: through the real gateway, the refusal's audit record must still
/// hold no card number and no security code in clear, and not the payload that decodes to one (it is blanked).
/// </summary>
public sealed partial class RefusedRequestRecordTests
{
    internal const string Note = "4111 1111 1111 1111";

    [GeneratedRegex("cvv\\\\?\"\\s*:\\s*\\\\?\"123")]
    private static partial Regex CvvInClear();

    /// <summary>
    /// A blob, written as PHP writes JSON ('/' as "\/"), that decodes to text holding a Devanagari card number whose masked
    /// nines change a character written "\/": <see cref="JsonBase64String"/> cannot write its mask back. One prefix length
    /// of three puts the nines in the alignment that does it; the one that does is checked, not assumed.
    /// </summary>
    internal static string UnmaskableBlob()
    {
        var masker = new PanMasker(new PanMaskingOptions { ComputeFingerprints = false });
        for (int k = 0; k < 3; k++)
        {
            string text = "card " + new string('x', k) + "४१११११९९९९९९१११६ paid";
            string escaped = Convert.ToBase64String(Encoding.UTF8.GetBytes(text)).Replace("/", "\\/", StringComparison.Ordinal);
            byte[] content = Encoding.ASCII.GetBytes(escaped);
            CardFindings none = default;
            if (JsonBase64String.MaskInPlace(masker, content, ref none, out _) == JsonBase64String.Result.Unmaskable) return escaped;
        }
        throw new InvalidOperationException("no candidate is unmaskable");
    }

    internal static void AssertRecordsHoldNothingInClear(IEnumerable<string> records, string blob)
    {
        string all = string.Join("\n", records);
        Assert.Contains("card number blocked", all, StringComparison.Ordinal);
        Assert.DoesNotContain(Note, all, StringComparison.Ordinal);
        Assert.DoesNotMatch(CvvInClear(), all);
        // The payload's first characters ("card x…" in base64) are nowhere: it is blanked whole, same length.
        Assert.DoesNotContain(blob[..12], all, StringComparison.Ordinal);
        Assert.Contains(new string('*', blob.Length), all, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("mask")]
    [InlineData("block")]
    [InlineData("forward")]
    public async Task A_call_whose_blob_cannot_be_masked_is_recorded_with_the_blob_blanked_and_its_other_strings_masked(string requests)
    {
        string blob = UnmaskableBlob();
        await using CardGateway g = await CardGateway.StartAsync(masking: m => m.Requests = requests, upstreamScript: CardGateway.EmptyResult);
        RawResponse answer = await g.PostAsync(CardGateway.ToolCall("1", "upload",
            "{\"file\":{\"blob\":\"" + blob + "\"},\"note\":\"" + Note + "\",\"cvv\":\"123\"}"));

        if (requests == "forward")
        {
            // Forwarded as sent, as "forward" says; what is recorded is still masked.
            Assert.Equal(200, answer.Status);
            Assert.Single(g.Upstream.Requests);
            List<string> forwarded = await g.StopAndReadAuditAsync();
            string all = string.Join("\n", forwarded);
            Assert.DoesNotContain(Note, all, StringComparison.Ordinal);
            Assert.DoesNotContain(blob[..12], all, StringComparison.Ordinal);
            return;
        }
        Assert.Equal(200, answer.Status);
        Assert.Equal((-32001, "1"), answer.JsonRpcError());
        Assert.Empty(g.Upstream.Requests);
        AssertRecordsHoldNothingInClear(await g.StopAndReadAuditAsync(), blob);
    }

    [Fact]
    public async Task A_batch_whose_blob_cannot_be_masked_is_recorded_with_the_blob_blanked_and_its_other_strings_masked()
    {
        string blob = UnmaskableBlob();
        await using CardGateway g = await CardGateway.StartAsync(upstreamScript: CardGateway.EmptyResult);
        RawResponse answer = await g.PostAsync("[" + CardGateway.ToolCall("1", "echo", "{}") + "," + CardGateway.ToolCall("2", "upload",
            "{\"file\":{\"blob\":\"" + blob + "\"},\"note\":\"" + Note + "\",\"cvv\":\"123\"}") + "]");

        Assert.Equal(200, answer.Status);
        Assert.Contains("card number", answer.Body, StringComparison.Ordinal);
        Assert.Empty(g.Upstream.Requests);
        AssertRecordsHoldNothingInClear(await g.StopAndReadAuditAsync(), blob);
    }

    /// <summary>
    /// The other trigger: a query whose masked bytes cannot be written back. The gateway's mask byte ('*') always can, so
    /// this is shown on the request rule itself, with a mask byte ('&amp;') that would change the query's meaning.
    /// </summary>
    [Fact]
    public void A_call_whose_query_cannot_be_masked_is_refused_with_its_body_recorded_masked()
    {
        var masking = new PanMasking(new PanMasker(new PanMaskingOptions { MaskByte = (byte)'&', FingerprintKey = new byte[32] }), RequestCardMode.Mask);
        var request = new HttpRequestHead(new HttpLimits());
        Assert.Equal(HttpRejectReason.None, request.Parse(Encoding.ASCII.GetBytes("POST /mcp?a=4111111111111111 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")));
        var exchange = new Exchange(request);
        byte[] body = Encoding.UTF8.GetBytes(CardGateway.ToolCall("1", "echo", "{\"note\":\"" + Note + "\",\"cvv\":\"123\"}"));
        using var copy = new PooledBufferWriter(0);

        RequestCardOutcome outcome = masking.ApplyToRequest(exchange, new ReadOnlySequence<byte>(body), request, copy, out ReadOnlySequence<byte> recorded);

        Assert.Equal(RequestCardOutcome.BlockedCard, outcome);
        string text = Encoding.UTF8.GetString(recorded.ToArray());
        Assert.DoesNotContain(Note, text, StringComparison.Ordinal);
        Assert.DoesNotMatch(CvvInClear(), text);
        Assert.Contains("\"note\":\"4111 11&& &&&& 1111\"", text, StringComparison.Ordinal);
        // The query's card number and the note's are both counted.
        Assert.Equal(2, exchange.RequestCards.Count);
    }
}
