using FastMcp.Gateway.Tests.Support;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// A security code after a token System.Text.Json refuses but a lenient client parser reads (Python's json module reads
/// NaN and Infinity) must not pass in clear because the member walk stopped at that token.
/// </summary>
public sealed class SensitiveDataLenientJsonTests
{
    [Theory]
    [InlineData("NaN")]
    [InlineData("Infinity")]
    [InlineData("-Infinity")]
    public async Task A_security_code_after_a_non_json_number_in_a_tool_result_reaches_neither_the_client_nor_the_record(string token)
    {
        string result = "{\"structuredContent\":{\"amount\":" + token + ",\"cvv\":\"123\"}}";
        await using CardGateway g = await CardGateway.StartAsync(upstreamScript: x =>
            x.RespondJsonAsync("{\"jsonrpc\":\"2.0\",\"id\":" + x.Request.IdJson() + ",\"result\":" + result + "}"));
        RawResponse answer = await g.PostAsync(CardGateway.ToolCall("1", "swipe", "{}"));

        Assert.DoesNotContain("\"123\"", answer.Body, StringComparison.Ordinal);
        // Refused whole: the walk cannot say what a lenient client reads after the token.
        Assert.Equal(502, answer.Status);
        Assert.Contains("could not be masked", answer.Body, StringComparison.Ordinal);
        List<string> records = await g.StopAndReadAuditAsync();
        Assert.DoesNotContain("\"123\"", AuditCards.ReadableText(records), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_card_number_in_a_blob_after_nan_is_not_relayed_in_clear()
    {
        string blob = Convert.ToBase64String("card,4111111111111111\n"u8.ToArray());
        await using CardGateway g = await CardGateway.StartAsync(upstreamScript: x =>
            x.RespondJsonAsync("{\"jsonrpc\":\"2.0\",\"id\":" + x.Request.IdJson() + ",\"result\":{\"contents\":[{\"size\":NaN,\"uri\":\"file:///c.csv\",\"blob\":\"" + blob + "\"}]}}"));
        RawResponse answer = await g.PostAsync("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"resources/read\",\"params\":{\"uri\":\"file:///c.csv\"}}");

        Assert.DoesNotContain(blob, answer.Body, StringComparison.Ordinal);
        List<string> records = await g.StopAndReadAuditAsync();
        Assert.DoesNotContain(blob, AuditCards.ReadableText(records), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("mask")]
    [InlineData("forward")]
    public async Task A_request_with_nan_before_a_security_code_is_refused_unforwarded_and_recorded_masked(string requests)
    {
        await using CardGateway g = await CardGateway.StartAsync(masking: m => m.Requests = requests, upstreamScript: CardGateway.EmptyResult);
        RawResponse answer = await g.PostAsync(CardGateway.ToolCall("1", "pay", "{\"amount\":NaN,\"cvv\":\"123\"}"));

        Assert.Empty(g.Upstream.Requests);
        List<string> records = await g.StopAndReadAuditAsync();
        Assert.DoesNotContain("\"123\"", AuditCards.ReadableText(records), StringComparison.Ordinal);
        // The request is not JSON: refused before any upstream sees it.
        Assert.Equal(-32700, answer.JsonRpcError().Code);
    }

    [Fact]
    public async Task A_security_code_after_nan_on_an_event_stream_is_masked()
    {
        await using CardGateway g = await CardGateway.StartAsync(upstreamScript: async x =>
        {
            await x.StartEventStreamAsync();
            await x.SendEventAsync("event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{\"level\":\"info\",\"data\":{\"n\":NaN,\"cvv\":\"777\"}}}\n\n");
            await x.SendEventAsync("event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":" + x.Request.IdJson() + ",\"result\":{}}\n\n");
            await x.EndChunkedAsync();
        });
        RawResponse answer = await g.PostAsync(CardGateway.ToolCall("1", "swipe", "{}"));

        Assert.DoesNotContain("\"777\"", answer.Body, StringComparison.Ordinal);
        List<string> records = await g.StopAndReadAuditAsync();
        Assert.DoesNotContain("\"777\"", AuditCards.ReadableText(records), StringComparison.Ordinal);
    }
}
