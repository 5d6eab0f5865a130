using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using FastMcp.Interop.Tests.Harness;
using Xunit.Abstractions;

namespace FastMcp.Interop.Tests;

/// <summary>
/// The runtime's socket engine: what every platform but Linux x86-64 runs (Linux ARM64, macOS), where a receive
/// loop feeds a Pipe instead of the gateway's own epoll loops. Forced on this machine with
/// FASTMCP_SOCKET_RECEIVE=runtime, it must serve what the default engine serves.
/// </summary>
[Collection(InteropCollection.Name)]
public sealed class RuntimeSocketEngineTests(InteropFixture fixture, ITestOutputHelper output)
{
    private static readonly Dictionary<string, string> RuntimeEngine = new() { ["FASTMCP_SOCKET_RECEIVE"] = "runtime" };

    [Fact]
    [Trait("Category", "E2E")]
    public async Task The_sdk_scenarios_and_a_large_call_through_it_equal_the_direct_run()
    {
        using var gateway = await GatewayProcess.StartAsync(fixture.Upstream.McpUrl, RuntimeEngine);
        output.WriteLine($"gateway: {GatewayProcess.Locate().Description} at {gateway.McpUrl}, FASTMCP_SOCKET_RECEIVE=runtime");

        var direct = await CsSdkScenarios.RunAsync(fixture.Upstream.McpUrl);
        var proxied = await CsSdkScenarios.RunAsync(gateway.McpUrl);
        Assert.True((int?)proxied["scenarios"]!["progress"]!["progressCount"] > 0, proxied.ToJsonString());
        JsonAssert.Equal(direct, proxied, "C# SDK results, direct vs through the gateway on the runtime engine");

        // A call larger than any receive buffer, answered as an event stream, arrives whole both ways.
        string message = string.Concat(Enumerable.Repeat("0123456789abcdef", 16 * 1024));
        string session = await McpWire.OpenSessionAsync(gateway.McpUrl);
        var exchange = await McpWire.PostAsync(gateway.McpUrl, session, McpWire.ToolCallBody(7, "echo", new JsonObject { ["message"] = message }.ToJsonString()));
        Assert.True(exchange.Status == 200, exchange.Body.Length > 400 ? exchange.Body[..400] : exchange.Body);
        JsonObject answer = Assert.Single(exchange.Messages(), m => m["id"] is not null);
        Assert.Equal($"Echo: {message}", (string?)answer["result"]!["content"]![0]!["text"]);

        // The engine really was the runtime's: no epoll loop thread in the process after all that traffic (the default
        // gateway starts its loops with its first connection).
        Assert.Empty(EpollLoopThreads(gateway.Process.Id));
        if (OperatingSystem.IsLinux() && RuntimeInformation.ProcessArchitecture == Architecture.X64)
        {
            var defaultGateway = await fixture.GatewayAsync();
            await McpWire.OpenSessionAsync(defaultGateway.McpUrl);
            Assert.NotEmpty(EpollLoopThreads(defaultGateway.Process.Id));
        }
    }

    [Fact]
    [Trait("Category", "E2E")]
    public async Task Tls_over_it_carries_a_large_call_whole()
    {
        // TLS runs over the socket's own pipe (Transport/TransportStream.cs); on this engine that pipe is a receive
        // loop feeding a Pipe, which SslStream then reads through.
        using var tls = new GatewayTlsFiles("""  "policy": { "rules": [ { "name": "all", "action": "allow" } ] },""");
        using var gateway = await GatewayProcess.StartAsync(fixture.Upstream.McpUrl, RuntimeEngine, "--config", tls.ConfigPath);
        Assert.Equal("https", gateway.McpUrl.Scheme);
        string message = string.Concat(Enumerable.Repeat("fedcba9876543210", 16 * 1024));
        string session = await McpWire.OpenSessionAsync(gateway.McpUrl);
        for (int id = 1; id <= 3; id++)
        {
            var exchange = await McpWire.PostAsync(gateway.McpUrl, session, McpWire.ToolCallBody(id, "echo", new JsonObject { ["message"] = message }.ToJsonString()));
            Assert.True(exchange.Status == 200, exchange.Body.Length > 400 ? exchange.Body[..400] : exchange.Body);
            JsonObject answer = Assert.Single(exchange.Messages(), m => m["id"] is not null);
            Assert.Equal($"Echo: {message}", (string?)answer["result"]!["content"]![0]!["text"]);
        }
        Assert.Empty(EpollLoopThreads(gateway.Process.Id));
    }

    /// <summary>Threads of <paramref name="pid"/> named as the gateway names its epoll loops (Linux; empty elsewhere).</summary>
    private static List<string> EpollLoopThreads(int pid) =>
        ProcessThreads.Of(pid).Where(t => t.Name.StartsWith("fastmcp-epoll", StringComparison.Ordinal)).Select(t => t.Name).ToList();
}
