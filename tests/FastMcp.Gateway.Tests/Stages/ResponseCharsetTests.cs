using System.Text;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Mcp;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// The stages read an answer as UTF-8: card masking, list filtering and the audit see bytes. An answer in another
/// encoding passes them unread (UTF-16 puts a NUL between the digits of a card number, so the scanner sees none), while
/// a client decodes it (Python's json.loads detects UTF-16 and UTF-32 from the bytes; clients that honour the charset
/// parameter decode UTF-7 and the rest). Such an answer is withheld, never relayed.
/// </summary>
public sealed class ResponseCharsetTests
{
    private const string Pan = "4111111111111111";

    private static string Answer(string idJson) => "{\"jsonrpc\":\"2.0\",\"id\":" + idJson + ",\"result\":{\"card\":\"" + Pan + "\"}}";

    private static Func<UpstreamExchange, Task> Upstream(string contentType, Encoding encoding) => async x =>
    {
        byte[] body = [.. encoding.GetPreamble(), .. encoding.GetBytes(Answer(x.Request.IdJson()))];
        await x.SendAsync($"HTTP/1.1 200 OK\r\nContent-Type: {contentType}\r\nContent-Length: {body.Length}\r\n\r\n");
        await x.SendAsync(body);
    };

    public static TheoryData<string, string> Refused() => new()
    {
        { "application/json; charset=utf-16le", "utf-16le" },
        { "application/json", "utf-16le" },            // no label: a UTF-16 body is told by its NULs
        { "application/json", "utf-16be" },
        { "application/json", "utf-16le-bom" },       // FF FE first: not UTF-8 either
        { "application/json", "utf-32" },
        { "application/json; charset=utf-7", "utf-8" }, // labelled so that a client decodes it otherwise
        { "application/json; charset=iso-8859-1", "utf-8" },
        { "text/event-stream; charset=utf-16", "utf-8" },
    };

    [Theory]
    [MemberData(nameof(Refused))]
    public async Task An_answer_the_stages_cannot_read_as_utf8_is_withheld(string contentType, string encodingName)
    {
        Encoding encoding = encodingName switch
        {
            "utf-16le" => new UnicodeEncoding(bigEndian: false, byteOrderMark: false),
            "utf-16be" => new UnicodeEncoding(bigEndian: true, byteOrderMark: false),
            "utf-16le-bom" => new UnicodeEncoding(bigEndian: false, byteOrderMark: true),
            "utf-32" => new UTF32Encoding(bigEndian: false, byteOrderMark: false),
            _ => new UTF8Encoding(false),
        };
        Func<UpstreamExchange, Task> script = contentType.StartsWith("text/event-stream", StringComparison.Ordinal)
            ? async x =>
            {
                await x.SendAsync($"HTTP/1.1 200 OK\r\nContent-Type: {contentType}\r\nTransfer-Encoding: chunked\r\n\r\n");
                await x.SendEventAsync("data: " + Answer(x.Request.IdJson()) + "\n\n");
                await x.EndChunkedAsync();
            }
            : Upstream(contentType, encoding);
        await using CardGateway g = await CardGateway.StartAsync(upstreamScript: script);
        RawResponse answer = await g.PostAsync(CardGateway.ToolCall("1", "echo", "{}"));

        Assert.Equal(502, answer.Status);
        (int code, string id) = answer.JsonRpcError();
        Assert.Equal(JsonRpcErrorCodes.UpstreamUnavailable, code);
        Assert.Equal("1", id);
        Assert.Contains("encoding", answer.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("4\u00001", Encoding.Latin1.GetString(answer.BodyBytes), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("application/json")]
    [InlineData("application/json; charset=utf-8")]
    [InlineData("application/json;charset=\"UTF-8\"")]
    public async Task A_utf8_answer_is_relayed_masked(string contentType)
    {
        await using CardGateway g = await CardGateway.StartAsync(upstreamScript: Upstream(contentType, new UTF8Encoding(false)));
        RawResponse answer = await g.PostAsync(CardGateway.ToolCall("1", "echo", "{}"));

        Assert.Equal(200, answer.Status);
        Assert.Contains("411111******1111", answer.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_utf8_answer_after_a_byte_order_mark_is_masked_where_a_client_reads_it()
    {
        // A client drops the mark (fetch's text(), Python's utf-8-sig): the JSON after it is what it reads, and the masker
        // reads those very bytes. A list answer after a mark is refused instead (the filter reads JSON from the first byte).
        await using CardGateway g = await CardGateway.StartAsync(upstreamScript: Upstream("application/json", new UTF8Encoding(encoderShouldEmitUTF8Identifier: true)));
        RawResponse answer = await g.PostAsync(CardGateway.ToolCall("1", "echo", "{}"));

        Assert.Equal(200, answer.Status);
        Assert.Equal([0xEF, 0xBB, 0xBF], answer.BodyBytes[..3]);
        Assert.Contains("411111******1111", answer.Body, StringComparison.Ordinal);
        Assert.DoesNotContain(Pan, answer.Body, StringComparison.Ordinal);
        Assert.Empty(AuditCards.FindCardNumbers(await g.StopAndReadAuditAsync()));
    }
}
