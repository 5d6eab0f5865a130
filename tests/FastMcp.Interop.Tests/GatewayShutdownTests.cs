using System.Text.Json.Nodes;
using FastMcp.Interop.Tests.Harness;
using Xunit.Abstractions;

namespace FastMcp.Interop.Tests;

/// <summary>
/// SIGTERM is a drain, not a kill: a call already in flight through the gateway finishes with its
/// result, and then the process exits 0. Runs its own gateway, since it ends it.
/// </summary>
[Collection(InteropCollection.Name)]
[Trait("Category", "E2E")]
public sealed class GatewayShutdownTests(InteropFixture fixture, ITestOutputHelper output)
{
    [Fact]
    public async Task Sigterm_lets_an_in_flight_call_finish_then_exits_0()
    {
        using var gateway = await GatewayProcess.StartAsync(fixture.Upstream.McpUrl);
        output.WriteLine($"gateway: {GatewayProcess.Locate().Description}");
        var sessionId = await McpWire.OpenSessionAsync(gateway.McpUrl);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        // 3 steps over 3 s, with progress: the first progress event proves the call is in flight.
        await using var call = await RawHttpConnection.ConnectAsync(gateway.McpUrl, cts.Token);
        await call.SendAsync(
            "POST",
            gateway.McpUrl.PathAndQuery,
            McpWire.Headers(sessionId),
            McpWire.ToolCallBody(11, "trigger-long-running-operation", """{"duration":3,"steps":3}""", progressToken: "drain"),
            cts.Token);
        var head = await call.ReadResponseHeadAsync(cts.Token);
        Assert.Equal(200, head.Status);
        Assert.True(head.IsEventStream, $"Content-Type: {head.Header("Content-Type")}");
        using var events = new SseReader(call.OpenBody(head, "POST"));

        var progressAfterSignal = 0;
        var signalled = false;
        JsonObject? result = null;
        while (result is null && await ReadOrExplainAsync(events, gateway, signalled, cts.Token) is { } e)
        {
            if (e.Data.Length == 0 || JsonNode.Parse(e.Data) is not JsonObject message)
            {
                continue;
            }
            if ((string?)message["method"] == "notifications/progress")
            {
                if (!signalled)
                {
                    gateway.SendSigterm();
                    signalled = true;
                }
                else
                {
                    progressAfterSignal++;
                }
            }
            else if (message["id"] is not null)
            {
                result = message;
            }
        }

        Assert.True(signalled, "no progress notification arrived before the result");
        Assert.NotNull(result);
        Assert.Equal(11, (int?)result["id"]);
        Assert.StartsWith(
            "Long running operation completed",
            (string?)result["result"]?["content"]?[0]?["text"]);
        Assert.Equal(2, progressAfterSignal);
        var exitCode = await gateway.WaitForExitAsync(TimeSpan.FromSeconds(20));
        Assert.True(exitCode == 0, $"exit code {exitCode}\n{gateway.Transcript}");
    }

    // A stream cut short fails the test with what the gateway said about it.
    private static async Task<SseEvent?> ReadOrExplainAsync(
        SseReader events, GatewayProcess gateway, bool signalled, CancellationToken cancellationToken)
    {
        try
        {
            return await events.ReadEventAsync(cancellationToken);
        }
        catch (IOException e)
        {
            var state = gateway.Process.HasExited ? "exited" : "still running";
            Assert.Fail($"in-flight stream broke ({e.Message}); SIGTERM sent: {signalled}; gateway {state}\n{gateway.Transcript}");
            throw;
        }
    }
}
