using System.Globalization;
using System.Text;
using FastMcp.Gateway.Tests.Support;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// An event whose bytes arrive in two chunks split anywhere around a card number: the relay masks whole events only, so
/// every split gives the client the same masked event and the log the same masked record. Guard (end to end; the
/// splitter and the scanner have their own segmentation tests).
/// </summary>
public sealed class StreamEventSplitCardTests
{
    private const string Pan = "4111 1111 1111 1111";

    private static string Event(string idJson) =>
        "event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":" + idJson + ",\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"card " + Pan + " ok\"}]}}\n\n";

    [Fact]
    public async Task A_card_number_split_across_chunks_at_any_byte_is_masked()
    {
        int cardAt = Event("100").IndexOf(Pan, StringComparison.Ordinal);
        const int Splits = 21; // from the byte before the card number to the byte after it
        await using CardGateway g = await CardGateway.StartAsync(upstreamScript: async x =>
        {
            string idJson = x.Request.IdJson();
            byte[] evt = Encoding.UTF8.GetBytes(Event(idJson));
            int split = cardAt - 1 + int.Parse(idJson, CultureInfo.InvariantCulture) - 100;
            await x.StartEventStreamAsync();
            await x.SendAsync($"{split:x}\r\n");
            await x.SendAsync(evt[..split]);
            await x.SendAsync("\r\n");
            await x.SendAsync($"{evt.Length - split:x}\r\n");
            await x.SendAsync(evt[split..]);
            await x.SendAsync("\r\n");
            await x.EndChunkedAsync();
        });
        for (int i = 0; i < Splits; i++)
        {
            RawResponse answer = await g.PostAsync(CardGateway.ToolCall((100 + i).ToString(CultureInfo.InvariantCulture), "echo", "{}"));
            Assert.Equal(200, answer.Status);
            Assert.Contains("card 4111 11** **** 1111 ok", answer.Body, StringComparison.Ordinal);
        }
        Assert.Empty(AuditCards.FindCardNumbers(await g.StopAndReadAuditAsync()));
    }
}
