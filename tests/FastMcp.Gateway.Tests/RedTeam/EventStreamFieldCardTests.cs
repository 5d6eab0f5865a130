using System.Text;
using FastMcp.Gateway.Tests.Stages;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Pan;

namespace FastMcp.Gateway.Tests.RedTeam;

/// <summary>
/// A hostile upstream puts a card number in every part of a server-sent event a client can read or a record can keep:
/// the id, event and retry fields, a comment, data split over lines, odd line endings, data that is not JSON or is
/// JSON followed by more, a line that never ends. Whatever the gateway does with the event, neither the client's bytes
/// (raw, and each event's data joined as a reader joins it) nor the audit log may hold the number in clear.
/// </summary>
public sealed class EventStreamFieldCardTests
{
    private const string Pan = "4111111111111111";

    private static string Answer(string idJson) => "{\"jsonrpc\":\"2.0\",\"id\":" + idJson + ",\"result\":{}}";

    public static TheoryData<string> Shapes() =>
    [
        "id field", "event field", "retry field", "comment", "data split over two lines", "data split over two lines, CR endings",
        "mixed CR and CRLF endings", "event without data", "data not JSON", "JSON then garbage", "unterminated last line",
        "unterminated line of JSON", "field without colon", "data with a tab-separated card",
    ];

    private static string EventText(string shape, string id) => shape switch
    {
        "id field" => $"id: {Pan}\ndata: {Answer(id)}\n\n",
        "event field" => $"event: {Pan}\ndata: {Answer(id)}\n\n",
        "retry field" => $"retry: {Pan}\n\ndata: {Answer(id)}\n\n",
        "comment" => $": {Pan}\n\ndata: {Answer(id)}\n\n",
        "data split over two lines" => "data: {\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"result\":{\"card\":\"41111111\ndata: 11111111\"}}\n\n",
        "data split over two lines, CR endings" => "data: {\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"result\":{\"card\":\"4111 1111\rdata: 1111 1111\"}}\r\r",
        "mixed CR and CRLF endings" => $"id: 1\r: {Pan}\r\nevent: message\rdata: " + "{\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"result\":{\"card\":\"" + Pan + "\"}}\r\n\r",
        "event without data" => $"id: {Pan}\nevent: {Pan}\n\n" + $"data: {Answer(id)}\n\n",
        "data not JSON" => $"data: card {Pan}\n\n",
        "JSON then garbage" => $"data: {Answer(id)} {Pan}\n\n",
        "unterminated last line" => $"data: {Answer(id)}\n\ndata: {Pan}",
        "unterminated line of JSON" => "data: {\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"result\":{\"card\":\"" + Pan + "\"}}",
        "field without colon" => $"{Pan}\n\ndata: {Answer(id)}\n\n",
        _ => "data: {\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"result\":{\"card\":\"4111\t1111\t1111\t1111\"}}\n\n",
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public async Task A_card_number_anywhere_in_an_event_reaches_neither_the_client_nor_the_log(string shape)
    {
        await using CardGateway g = await CardGateway.StartAsync(upstreamScript: async x =>
        {
            await x.StartEventStreamAsync();
            await x.SendChunkAsync(EventText(shape, x.Request.IdJson()));
            await x.EndChunkedAsync();
        });
        RawResponse answer = await g.PostAsync(CardGateway.ToolCall("1", "echo", "{}"));

        Assert.False(PanMasker.ContainsCardNumber(answer.BodyBytes), answer.Body);
        foreach (string data in EventStreamText.EventData(answer.Body.Replace("\r\n", "\n").Replace('\r', '\n')))
        {
            Assert.False(PanMasker.ContainsCardNumber(Encoding.UTF8.GetBytes(data.Replace("\n", ""))), data);
        }
        // A card number split by a line break is no card number to the scanner (pan-detection.md): a withheld event's
        // record may keep "41111111\n11111111" as the upstream sent it.
        List<string> records = await g.StopAndReadAuditAsync();
        Assert.Empty(AuditCards.FindCardNumbers(records));
    }

    [Fact]
    public async Task An_event_line_longer_than_the_message_bound_is_refused_recorded_and_never_relayed()
    {
        // A data line that does not end within limits.maxResponseMessageBytes (and never ends: the upstream then waits).
        // The card number leads it, so any part of it relayed or recorded would hold the number in clear.
        string line = "data: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"card\":\"" + Pan + " " + new string('x', 80 * 1024);
        await using CardGateway g = await CardGateway.StartAsync(configure: o => o.Limits.MaxResponseMessageBytes = 64 * 1024, upstreamScript: async x =>
        {
            await x.StartEventStreamAsync();
            for (int at = 0; at < line.Length; at += 8 * 1024) await x.SendChunkAsync(line.Substring(at, Math.Min(8 * 1024, line.Length - at)));
            await x.HangAsync();
        });
        RawResponse answer = await g.PostAsync(CardGateway.ToolCall("1", "echo", "{}"));

        Assert.Equal(200, answer.Status);
        Assert.DoesNotContain(Pan, answer.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("xxxx", answer.Body, StringComparison.Ordinal);
        List<string> events = EventStreamText.EventData(answer.Body);
        Assert.True(events.Count == 1, "the client's call got no answer: " + answer.Body);
        using (var refusal = System.Text.Json.JsonDocument.Parse(events[0]))
        {
            Assert.Equal(FastMcp.Mcp.JsonRpcErrorCodes.UpstreamUnavailable, refusal.RootElement.GetProperty("error").GetProperty("code").GetInt32());
            Assert.Equal(1, refusal.RootElement.GetProperty("id").GetInt32());
        }
        List<string> records = await g.StopAndReadAuditAsync();
        Assert.Empty(AuditCards.FindCardNumbers(records));
        string withheld = Assert.Single(records, r => r.Contains("\"withheld", StringComparison.Ordinal));
        Assert.Contains("maxResponseMessageBytes", withheld, StringComparison.Ordinal);
        Assert.DoesNotContain("requestNotJsonBase64", withheld, StringComparison.Ordinal);
    }
}
