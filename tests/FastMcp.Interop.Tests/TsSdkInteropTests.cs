using FastMcp.Interop.Tests.Harness;
using Xunit.Abstractions;

namespace FastMcp.Interop.Tests;

/// <summary>
/// The official TypeScript SDK client (tests/node/interop/ts-client.mjs) against server-everything,
/// straight and through the gateway: both runs must produce the same normalized results.
/// </summary>
[Collection(InteropCollection.Name)]
public sealed class TsSdkInteropTests(InteropFixture fixture, ITestOutputHelper output)
{
    private const string EchoMessage = "interop echo: héllo, wörld";

    [Fact]
    public async Task Direct_run_exercises_every_scenario()
    {
        var run = await TsClientRunner.RunAsync(fixture.Upstream.McpUrl);

        Assert.True(run.ExitCode == 0, run.Transcript);
        Assert.Equal("mcp-servers/everything", (string?)run.Scenario("initialize")["serverName"]);
        Assert.True((bool?)run.Scenario("initialize")["hasSessionId"]);
        Assert.Contains("echo", run.Scenario("tools-list")["names"]!.AsArray().Select(n => (string?)n));
        Assert.Equal($"Echo: {EchoMessage}", (string?)run.Scenario("echo")["content"]![0]!["text"]);
        Assert.Equal(4, (int?)run.Scenario("progress")["progressCount"]);
        Assert.StartsWith("Long running operation completed", (string?)run.Scenario("progress")["content"]![0]!["text"]);
        Assert.Equal("What's weather in Lisbon, Estremadura?", (string?)run.Scenario("prompts-get")["args"]![0]!["content"]!["text"]);
        Assert.True((bool?)run.Scenario("delete")["terminated"]);
        Assert.True((bool?)run.Scenario("delete")["afterDelete"]!["staleSession"]!["failed"]);
    }

    [Fact]
    [Trait("Category", "E2E")]
    public async Task Gateway_run_equals_direct_run()
    {
        var gateway = await fixture.GatewayAsync();
        output.WriteLine($"gateway: {GatewayProcess.Locate().Description} at {gateway.McpUrl}");

        var direct = await TsClientRunner.RunAsync(fixture.Upstream.McpUrl);
        var proxied = await TsClientRunner.RunAsync(gateway.McpUrl);

        Assert.True(direct.ExitCode == 0, direct.Transcript);
        Assert.True(proxied.ExitCode == 0, $"{proxied.Transcript}\n{gateway.Transcript}");
        // Content actually flowed: equality of two empty runs would prove nothing.
        Assert.Equal($"Echo: {EchoMessage}", (string?)proxied.Scenario("echo")["content"]![0]!["text"]);
        Assert.True((int?)proxied.Scenario("progress")["progressCount"] > 0);
        JsonAssert.Equal(direct.Result, proxied.Result, "TypeScript SDK results, direct vs through the gateway");
    }
}
