using System.Text.Json.Nodes;
using FastMcp.Interop.Tests.Harness;
using Xunit.Abstractions;

namespace FastMcp.Interop.Tests;

/// <summary>
/// The official MCP conformance suite (@modelcontextprotocol/conformance 0.1.16, server scenarios) against our
/// conformance server (tests/node/conformance/conformance-server.mjs, official TypeScript SDK) three ways: directly,
/// through a plain gateway route, and through a federated route with that one server as its only member. Every
/// scenario that passes on the plain route must pass on the federated endpoint, and the scenarios named below, which
/// cover sampling and elicitation requests from the server, logging and progress notifications during a call,
/// prompts, resources, templates and completion, must pass on all three.
/// </summary>
[Collection(InteropCollection.Name)]
public sealed class FederationConformanceTests(ITestOutputHelper output)
{
    /// <summary>Every scenario of the suite's active set: all of them pass directly and through both routes.</summary>
    private static readonly string[] Floor =
    [
        "server-initialize", "ping", "logging-set-level", "completion-complete",
        "tools-list", "tools-call-simple-text", "tools-call-image", "tools-call-audio", "tools-call-embedded-resource",
        "tools-call-mixed-content", "tools-call-error", "tools-call-with-logging", "tools-call-with-progress",
        "tools-call-sampling", "tools-call-elicitation", "elicitation-sep1034-defaults", "elicitation-sep1330-enums",
        "server-sse-multiple-streams",
        "resources-list", "resources-read-text", "resources-read-binary", "resources-templates-read",
        "resources-subscribe", "resources-unsubscribe",
        "prompts-list", "prompts-get-simple", "prompts-get-with-args", "prompts-get-embedded-resource", "prompts-get-with-image",
        "dns-rebinding-protection",
    ];

    private static string Config(Uri server) => $$"""
        {
          "listen": ["127.0.0.1:0"],
          "admin": { "listen": "127.0.0.1:0" },
          "upstream": { "url": "{{server}}" },
          "upstreams": { "conformance": { "url": "{{server}}" } },
          "routes": [ { "path": "/mcp/federated", "federate": ["conformance"] } ],
          "identity": { "mode": "anonymous" },
          "audit": { "directory": "audit" },
          "policy": { "rules": [ { "name": "all", "action": "allow" } ] }
        }
        """;

    private async Task<ConformanceSuite> RunAsync(string name, Uri url)
    {
        ConformanceSuite run = await ConformanceSuite.RunAsync(url);
        output.WriteLine($"=== {name} ({url}): passed {string.Join(", ", run.Passed)}; failed {string.Join(", ", run.Failed)}");
        Assert.True(run.Passed.Count + run.Failed.Count >= 20, $"the suite reported too few scenarios on {name}:\n{run.Transcript}");
        return run;
    }

    private static void AssertFloor(string name, ConformanceSuite run, ConformanceServer server)
    {
        var missing = new SortedSet<string>(Floor, StringComparer.Ordinal);
        missing.ExceptWith(run.Passed);
        Assert.True(missing.Count == 0, $"{name}: not passing: {string.Join(", ", missing)}\n{run.Transcript}\n{server.Transcript}");
    }

    [Fact]
    [Trait("Category", "E2E")]
    public async Task A_federated_endpoint_in_front_of_one_server_passes_every_scenario_its_plain_route_passes()
    {
        using ConformanceServer server = await ConformanceServer.StartAsync();
        using GatewayProcess gateway = await GatewayProcess.StartWithConfigAsync(Config(server.McpUrl));

        // Directly first: a floor scenario failing here is the test server's fault, not the gateway's.
        ConformanceSuite direct = await RunAsync("direct", server.McpUrl);
        ConformanceSuite plain = await RunAsync("plain route", gateway.McpUrl);
        ConformanceSuite federated = await RunAsync("federated route", new Uri(gateway.McpUrl, "/mcp/federated"));

        AssertFloor("direct", direct, server);
        AssertFloor("plain route", plain, server);
        var regressed = new SortedSet<string>(plain.Passed, StringComparer.Ordinal);
        regressed.ExceptWith(federated.Passed);
        Assert.True(regressed.Count == 0,
            $"passing on the plain route, not on the federated one: {string.Join(", ", regressed)}\n{federated.Transcript}");
        AssertFloor("federated route", federated, server);
    }

    /// <summary>
    /// SEP-1699 polling: the server closes a call's event stream mid-call and the client resumes it with GET and
    /// Last-Event-ID. The suite's server-sse-polling scenario (outside the active set) posts with protocol 2025-03-26,
    /// so on a plain route the server keeps the stream open; on a federated path the member session speaks the version
    /// the gateway negotiated (2025-11-25), the member closes the stream, and the answer only arrives if the gateway
    /// sends the resuming GET to the member.
    /// </summary>
    [Fact]
    [Trait("Category", "E2E")]
    public async Task A_call_stream_the_member_closes_mid_call_is_resumed_through_a_one_member_federated_path()
    {
        using ConformanceServer server = await ConformanceServer.StartAsync();
        using GatewayProcess gateway = await GatewayProcess.StartWithConfigAsync(Config(server.McpUrl));

        (Dictionary<string, string> checks, string transcript) =
            await ConformanceSuite.RunScenarioAsync(new Uri(gateway.McpUrl, "/mcp/federated"), "server-sse-polling");
        output.WriteLine(transcript);

        Assert.Equal("SUCCESS", checks.GetValueOrDefault("server-sse-priming-event"));
        Assert.True(checks.GetValueOrDefault("server-sse-disconnect-resume") == "SUCCESS",
            $"the call's answer did not arrive on the resumed stream\n{transcript}\n{server.Transcript}");
    }

    /// <summary>
    /// The same SEP-1699 polling through the plain route, with the official TypeScript SDK client (its protocol makes the
    /// server close the call's stream after its priming event): the SDK resumes with GET and Last-Event-ID, and the call's
    /// answer on that GET stream reaches it, since it answers the caller's call whose stream ended before its answer
    /// (Forwarding/UnaskedAnswer.cs; any other answer there would be withheld).
    /// </summary>
    [Fact]
    [Trait("Category", "E2E")]
    public async Task The_typescript_client_gets_its_answer_on_the_stream_it_resumes_through_a_plain_route()
    {
        using ConformanceServer server = await ConformanceServer.StartAsync();
        using GatewayProcess gateway = await GatewayProcess.StartWithConfigAsync(Config(server.McpUrl));

        TsClientRun run = await TsClientRunner.RunAsync(gateway.McpUrl, "reconnection");
        output.WriteLine(run.Transcript);

        JsonNode scenario = run.Scenario("reconnection");
        Assert.True(run.ExitCode == 0, $"{run.Result}\n{run.Transcript}\n{server.Transcript}");
        Assert.True(scenario["resumingGets"]!.GetValue<int>() >= 1, $"the client never resumed the call's stream: {scenario}");
        Assert.Contains("Reconnection test completed", scenario["content"]!.ToJsonString(), StringComparison.Ordinal);
    }
}
