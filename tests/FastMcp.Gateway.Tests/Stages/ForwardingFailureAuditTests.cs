using System.Text.Json;
using FastMcp.Gateway.Tests.Support;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// An exchange the upstream failed (a redirect or a challenge withheld, an answer the stages cannot read, no answer in
/// time) ends with the gateway's own error to the client; the audit log says so in the exchange's response record, so
/// that no recorded request is left without its outcome, and an upstream trying to send clients elsewhere is on record.
/// </summary>
public sealed class ForwardingFailureAuditTests
{
    public static TheoryData<string, string, int> Failures() => new()
    {
        { "HTTP/1.1 307 Temporary Redirect\r\nLocation: http://elsewhere.example/mcp\r\nContent-Length: 0\r\n\r\n", "RedirectResponse", 502 },
        { "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer realm=\"x\"\r\nContent-Length: 0\r\n\r\n", "UpstreamUnauthorized", 502 },
        { "HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-16\r\nContent-Length: 2\r\n\r\n{}", "UnreadableEncoding", 502 },
        { "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\nContent-Length: 2\r\n\r\n{}", "EncodedResponse", 502 },
    };

    [Theory]
    [MemberData(nameof(Failures))]
    public async Task A_failed_exchange_has_a_response_record_that_says_what_failed(string upstreamAnswer, string error, int status)
    {
        await using CardGateway g = await CardGateway.StartAsync(upstreamScript: x => x.SendAsync(upstreamAnswer));
        RawResponse answer = await g.PostAsync(CardGateway.ToolCall("7", "echo", "{}"));
        Assert.Equal(status, answer.Status);

        List<JsonElement> records = [.. (await g.StopAndReadAuditAsync()).Select(r => JsonDocument.Parse(r).RootElement)];
        JsonElement failed = Assert.Single(records, r =>
            r.GetProperty("type").GetString() == "McpExchange" && r.TryGetProperty("detail", out JsonElement d) && d.GetString()!.Contains(error, StringComparison.Ordinal));
        Assert.False(failed.GetProperty("success").GetBoolean());
        Assert.Equal(status, failed.GetProperty("httpStatus").GetInt32());
        Assert.Equal("tools/call", failed.GetProperty("component").GetProperty("method").GetString());
        Assert.Equal("7", failed.GetProperty("jsonrpcId").GetRawText());
        Assert.DoesNotContain("elsewhere.example", failed.GetRawText(), StringComparison.Ordinal);
    }
}
