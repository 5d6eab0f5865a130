using System.Text;
using System.Text.Json;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Mcp;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// Events whose bytes the stages cannot read as UTF-8 while a client still decodes them: UTF-16 (a NUL between the
/// digits of a card number, and field names the gateway does not see), NULs or invalid bytes inside a data line, and a
/// UTF-8 byte order mark before the first field (a client drops it and reads the event; the gateway read no field).
/// Each is withheld, never relayed, and what the audit log keeps of it holds no card number in any spelling.
/// </summary>
public sealed class StreamEventEncodingTests
{
    private const string Pan = "4111111111111111";
    private static readonly byte[] ByteOrderMark = [0xEF, 0xBB, 0xBF];

    private static string Answer(string idJson) => "{\"jsonrpc\":\"2.0\",\"id\":" + idJson + ",\"result\":{\"card\":\"" + Pan + "\"}}";

    /// <summary>The digits of the card number with <paramref name="between"/> after each one but the last.</summary>
    private static byte[] SeparatedCard(byte between) => [.. Pan[..^1].SelectMany(d => new[] { (byte)d, between }), (byte)Pan[^1]];

    private static Func<UpstreamExchange, Task> StreamOf(Func<string, byte[]> eventBytes) => async x =>
    {
        await x.StartEventStreamAsync();
        byte[] evt = eventBytes(x.Request.IdJson());
        await x.SendAsync($"{evt.Length:x}\r\n");
        await x.SendAsync(evt);
        await x.SendAsync("\r\n");
        await x.EndChunkedAsync();
    };

    public static TheoryData<string> Undecodable() => ["utf-16le event", "utf-32be event", "NULs between the digits", "invalid bytes between the digits"];

    private static byte[] UndecodableEvent(string shape, string idJson) => shape switch
    {
        "utf-16le event" => new UnicodeEncoding(bigEndian: false, byteOrderMark: false).GetBytes("data: " + Answer(idJson) + "\n\n"),
        "utf-32be event" => new UTF32Encoding(bigEndian: true, byteOrderMark: false).GetBytes("data: " + Answer(idJson) + "\n\n"),
        "NULs between the digits" => [.. Encoding.UTF8.GetBytes("data: " + Answer(idJson).Replace(Pan, "#") + "\n\n").SelectMany(b => b == '#' ? SeparatedCard(0) : [b])],
        _ => [.. Encoding.UTF8.GetBytes("data: " + Answer(idJson).Replace(Pan, "#") + "\n\n").SelectMany(b => b == '#' ? SeparatedCard(0xFF) : [b])],
    };

    [Theory]
    [MemberData(nameof(Undecodable))]
    public async Task An_event_that_is_not_utf8_text_is_withheld_and_recorded_without_its_bytes(string shape)
    {
        await using CardGateway g = await CardGateway.StartAsync(upstreamScript: StreamOf(id => UndecodableEvent(shape, id)));
        RawResponse answer = await g.PostAsync(CardGateway.ToolCall("1", "echo", "{}"));

        Assert.Equal(200, answer.Status);
        using JsonDocument refusal = JsonDocument.Parse(Assert.Single(EventStreamText.EventData(answer.Body)));
        Assert.Equal(JsonRpcErrorCodes.UpstreamUnavailable, refusal.RootElement.GetProperty("error").GetProperty("code").GetInt32());
        Assert.Contains("encoding", refusal.RootElement.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain((byte)0, answer.BodyBytes);
        Assert.True(System.Text.Unicode.Utf8.IsValid(answer.BodyBytes));

        List<string> records = await g.StopAndReadAuditAsync();
        string withheld = Assert.Single(records, r => r.Contains("\"withheld", StringComparison.Ordinal));
        Assert.Contains("not UTF-8 text", withheld, StringComparison.Ordinal);
        Assert.Empty(AuditCards.FindCardNumbers(records));
        Assert.Empty(AuditCards.FindCardNumbersAmidUnreadableBytes(records));
    }

    [Fact]
    public async Task A_list_event_after_a_byte_order_mark_is_withheld_not_relayed_unfiltered()
    {
        await using PolicyGateway gw = await PolicyGateway.StartAsync(StreamOf(id => [.. ByteOrderMark,
            .. Encoding.UTF8.GetBytes("data: " + PolicyGateway.ToolsListResult(id, "a_read", "delete_all") + "\n\n")]),
        [
            new RuleOptions { Name = "protocol", Action = "allow", Methods = ["tools/list"] },
            new RuleOptions { Name = "team-a", Action = "allow", Methods = ["tools/call"], Groups = ["team-a"], Names = ["a_*"] },
        ]);
        RawResponse answer = await gw.PostAsync("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}", gw.Token("alice", "team-a"));

        Assert.Equal(200, answer.Status);
        Assert.DoesNotContain("delete_all", answer.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("\uFEFF", answer.Body, StringComparison.Ordinal);
        using JsonDocument refusal = JsonDocument.Parse(Assert.Single(EventStreamText.EventData(answer.Body)));
        Assert.Equal(JsonRpcErrorCodes.UpstreamUnavailable, refusal.RootElement.GetProperty("error").GetProperty("code").GetInt32());
        Assert.Equal(1, refusal.RootElement.GetProperty("id").GetInt32());

        string[] records = await gw.StopAndReadAuditAsync();
        Assert.Single(records, r => r.Contains("\"withheld", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_card_answer_after_a_byte_order_mark_reaches_neither_the_client_nor_the_log_unrecorded()
    {
        await using CardGateway g = await CardGateway.StartAsync(upstreamScript: StreamOf(id => [.. ByteOrderMark, .. Encoding.UTF8.GetBytes("data: " + Answer(id) + "\n\n")]));
        RawResponse answer = await g.PostAsync(CardGateway.ToolCall("1", "echo", "{}"));

        Assert.Equal(200, answer.Status);
        Assert.DoesNotContain("\"result\"", answer.Body, StringComparison.Ordinal);
        Assert.DoesNotContain(Pan, answer.Body, StringComparison.Ordinal);
        List<string> records = await g.StopAndReadAuditAsync();
        // Withheld and recorded as such, its data masked (it is UTF-8: only the mark made it unreadable).
        string withheld = Assert.Single(records, r => r.Contains("\"withheld", StringComparison.Ordinal));
        using JsonDocument record = JsonDocument.Parse(withheld);
        Assert.Contains("411111******1111", Encoding.UTF8.GetString(record.RootElement.GetProperty("requestNotJsonBase64").GetBytesFromBase64()), StringComparison.Ordinal);
        Assert.Empty(AuditCards.FindCardNumbers(records));
    }
}
