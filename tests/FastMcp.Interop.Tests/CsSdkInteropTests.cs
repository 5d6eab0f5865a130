using FastMcp.Interop.Tests.Harness;
using Xunit.Abstractions;

namespace FastMcp.Interop.Tests;

/// <summary>
/// The official C# SDK client (ModelContextProtocol, Streamable HTTP mode) against
/// server-everything, straight and through the gateway.
/// </summary>
[Collection(InteropCollection.Name)]
public sealed class CsSdkInteropTests(InteropFixture fixture, ITestOutputHelper output)
{
    [Fact]
    public async Task Direct_run_exercises_every_scenario()
    {
        var result = await CsSdkScenarios.RunAsync(fixture.Upstream.McpUrl);
        var scenarios = result["scenarios"]!;

        Assert.Equal("mcp-servers/everything", (string?)scenarios["initialize"]!["serverName"]);
        Assert.True((bool?)scenarios["initialize"]!["hasSessionId"]);
        Assert.Equal($"Echo: {CsSdkScenarios.EchoMessage}", (string?)scenarios["echo"]!["content"]![0]!["text"]);
        Assert.True(CsSdkScenarios.ProgressSteps == (int?)scenarios["progress"]!["progressCount"], scenarios["progress"]!.ToJsonString());
        Assert.StartsWith("Long running operation completed", (string?)scenarios["progress"]!["content"]![0]!["text"]);
        Assert.Equal("What's weather in Lisbon, Estremadura?", (string?)scenarios["prompts-get"]!["args"]![0]!["content"]!["text"]);
        Assert.Equal(200, (int?)scenarios["delete"]!["deleteStatus"]);
        Assert.True((bool?)scenarios["delete"]!["afterDelete"]!["failed"]);
    }

    [Fact]
    public async Task Both_sdks_see_the_same_server_content()
    {
        var cs = (await CsSdkScenarios.RunAsync(fixture.Upstream.McpUrl))["scenarios"]!;
        var ts = await TsClientRunner.RunAsync(fixture.Upstream.McpUrl, "initialize", "echo", "progress", "resources-read", "prompts-get");
        Assert.True(ts.ExitCode == 0, ts.Transcript);

        foreach (var key in new[] { "serverName", "serverVersion", "protocolVersion", "instructionsSha256" })
        {
            JsonAssert.Equal(ts.Scenario("initialize")[key], cs["initialize"]![key], $"initialize.{key}");
        }
        foreach (var scenario in new[] { "echo", "progress", "resources-read", "prompts-get" })
        {
            JsonAssert.Equal(ts.Scenario(scenario), cs[scenario], scenario);
        }
    }

    [Fact]
    [Trait("Category", "E2E")]
    public async Task Gateway_run_equals_direct_run()
    {
        var gateway = await fixture.GatewayAsync();
        output.WriteLine($"gateway: {GatewayProcess.Locate().Description} at {gateway.McpUrl}");

        var direct = await CsSdkScenarios.RunAsync(fixture.Upstream.McpUrl);
        var proxied = await CsSdkScenarios.RunAsync(gateway.McpUrl);

        Assert.Equal($"Echo: {CsSdkScenarios.EchoMessage}", (string?)proxied["scenarios"]!["echo"]!["content"]![0]!["text"]);
        Assert.True((int?)proxied["scenarios"]!["progress"]!["progressCount"] > 0);
        JsonAssert.Equal(direct, proxied, "C# SDK results, direct vs through the gateway");
    }
}
