using System.Text;
using FastMcp.Gateway.Tests.Support;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// Card numbers an upstream puts where no stage looks because the gateway relays none of it: an interim answer's
/// header fields (103 Early Hints with a Link), chunk extensions and trailer fields. Guards: the gateway drops all three
/// (interim answers are read and skipped, the chunked decoder skips extensions and drops trailers, and the client's
/// framing is the gateway's own), so none reaches the client or the audit log.
/// </summary>
public sealed class FramingFieldCardTests
{
    private const string Pan = "4111111111111111";

    private static string Answer(string idJson) => "{\"jsonrpc\":\"2.0\",\"id\":" + idJson + ",\"result\":{\"content\":[]}}";

    private static async Task AssertNoCardAnywhereAsync(CardGateway g, RawResponse answer)
    {
        Assert.Equal(200, answer.Status);
        Assert.DoesNotContain(Pan, answer.Head.Raw, StringComparison.Ordinal);
        Assert.DoesNotContain(Pan, answer.Body, StringComparison.Ordinal);
        Assert.Contains("\"result\"", answer.Body, StringComparison.Ordinal);
        Assert.Empty(AuditCards.FindCardNumbers(await g.StopAndReadAuditAsync()));
    }

    [Fact]
    public async Task Early_hints_before_the_answer_are_not_relayed()
    {
        await using CardGateway g = await CardGateway.StartAsync(upstreamScript: async x =>
        {
            await x.SendAsync($"HTTP/1.1 103 Early Hints\r\nLink: </cards/{Pan}>; rel=preload\r\nX-Card: {Pan}\r\n\r\n");
            await x.SendAsync("HTTP/1.1 100 Continue\r\n\r\n");
            await x.RespondJsonAsync(Answer(x.Request.IdJson()));
        });
        RawResponse answer = await g.PostAsync(CardGateway.ToolCall("1", "echo", "{}"));

        Assert.Null(answer.Header("Link"));
        await AssertNoCardAnywhereAsync(g, answer);
    }

    [Fact]
    public async Task Chunk_extensions_and_trailer_fields_of_a_json_answer_are_dropped()
    {
        await using CardGateway g = await CardGateway.StartAsync(upstreamScript: async x =>
        {
            byte[] json = Encoding.UTF8.GetBytes(Answer(x.Request.IdJson()));
            await x.SendAsync("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nTrailer: X-Card\r\n\r\n");
            await x.SendAsync($"{json.Length:x};card={Pan}\r\n");
            await x.SendAsync(json);
            await x.SendAsync($"\r\n0;card=\"{Pan}\"\r\nX-Card: {Pan}\r\n\r\n");
        });
        await AssertNoCardAnywhereAsync(g, await g.PostAsync(CardGateway.ToolCall("1", "echo", "{}")));
    }

    [Fact]
    public async Task Trailer_fields_of_an_event_stream_are_dropped_and_the_connection_stays_in_step()
    {
        await using CardGateway g = await CardGateway.StartAsync(upstreamScript: async x =>
        {
            await x.StartEventStreamAsync($"Trailer: X-Card\r\n");
            string evt = "event: message\ndata: " + Answer(x.Request.IdJson()) + "\n\n";
            await x.SendAsync($"{Encoding.UTF8.GetByteCount(evt):x};card={Pan}\r\n{evt}\r\n");
            await x.SendAsync($"0\r\nX-Card: {Pan}\r\n\r\n");
        });
        using RawClient client = await g.Gateway.ConnectAsync();
        await client.SendAsync(g.Gateway.Post(CardGateway.ToolCall("1", "echo", "{}"), $"Authorization: Bearer {g.Token}\r\n"));
        RawResponse first = await client.ReadResponseAsync();
        // Had a trailer line followed the client's last chunk, the second answer's head would not be where it is read.
        await client.SendAsync(g.Gateway.Post(CardGateway.ToolCall("2", "echo", "{}"), $"Authorization: Bearer {g.Token}\r\n"));
        RawResponse second = await client.ReadResponseAsync();

        Assert.Equal(200, second.Status);
        Assert.Contains("\"id\":2", second.Body, StringComparison.Ordinal);
        await AssertNoCardAnywhereAsync(g, first);
    }

    [Fact]
    public async Task A_compressed_error_answer_is_refused_like_any_other()
    {
        await using CardGateway g = await CardGateway.StartAsync(upstreamScript: x =>
            x.RespondAsync(500, "text/plain", "card " + Pan, "Content-Encoding: gzip\r\n"));
        RawResponse answer = await g.PostAsync(CardGateway.ToolCall("1", "echo", "{}"));

        Assert.Equal(502, answer.Status);
        Assert.Contains("compressed", answer.Body, StringComparison.Ordinal);
        Assert.DoesNotContain(Pan, answer.Body, StringComparison.Ordinal);
    }
}
