using System.Text.Json;
using FastMcp.Gateway.Tests.Support;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// A stream's response record is written when the stream ends, after its last bytes left for the client
/// (docs/audit-format.md §9): a stop that comes as the client finishes reading must not seal the audit log under it.
/// Over real sockets and a real audit directory, many gateways in a row, since the loss was a race with the stop.
/// </summary>
public sealed class StopStreamEndRecordTests
{
    private const int Gateways = 20;
    private const string Progress = "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{\"progressToken\":\"p1\",\"progress\":1}}";

    private static async Task StreamedAnswer(UpstreamExchange x)
    {
        if (x.Request.Body.Contains("\"initialize\""))
        {
            await x.RespondJsonAsync("{\"jsonrpc\":\"2.0\",\"id\":" + x.Request.IdJson() + ",\"result\":{\"protocolVersion\":\"2025-06-18\",\"capabilities\":{},"
                + "\"serverInfo\":{\"name\":\"s\",\"version\":\"1\"}}}", "Mcp-Session-Id: sess-1\r\n");
            return;
        }
        await x.StartEventStreamAsync();
        await x.SendEventAsync("data: " + Progress + "\n\n");
        await x.SendEventAsync("data: {\"jsonrpc\":\"2.0\",\"id\":" + x.Request.IdJson() + ",\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"done\"}]}}\n\n");
        await x.EndChunkedAsync();
    }

    [Fact]
    public async Task A_stop_right_after_the_client_read_a_stream_keeps_its_response_record()
    {
        for (int run = 0; run < Gateways; run++)
        {
            await using CardGateway g = await CardGateway.StartAsync(upstreamScript: StreamedAnswer);
            using RawClient client = await g.Gateway.ConnectAsync();
            await client.SendAsync(g.Gateway.Post("{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"2025-06-18\",\"capabilities\":{},"
                + "\"clientInfo\":{\"name\":\"c\",\"version\":\"1\"}}}", $"Authorization: Bearer {g.Token}\r\n"));
            Assert.Equal(200, (await client.ReadResponseAsync()).Status);
            await client.SendAsync(g.Gateway.Post(CardGateway.ToolCall("5", "slow_tool", "{}"), $"Authorization: Bearer {g.Token}\r\nMcp-Session-Id: sess-1\r\n"));
            RawResponse response = await client.ReadResponseAsync();
            Assert.Contains("\"done\"", response.Body);

            // The client has the whole stream; the gateway may still be writing its end record. Stop at once.
            await g.Gateway.Host.StopAsync(TimeSpan.Zero);
            Assert.True(g.Gateway.Host.OpenConnections == 0, $"run {run}: the stop returned with {g.Gateway.Host.OpenConnections} connection(s) still running");

            List<JsonElement> records = [.. (await g.StopAndReadAuditAsync()).Select(r => JsonDocument.Parse(r).RootElement.Clone())];
            Assert.True(records.Exists(r => r.GetProperty("detail").GetString() == "response" && r.GetProperty("jsonrpcId").GetRawText() == "5"
                && r.GetProperty("response").GetRawText().Contains("done")), $"run {run}: the stream's response record is missing");
        }
    }
}
