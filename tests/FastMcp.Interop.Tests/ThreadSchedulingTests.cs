using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using FastMcp.Interop.Tests.Harness;

namespace FastMcp.Interop.Tests;

/// <summary>
/// threads.scheduling "batch" (or FASTMCP_THREAD_SCHEDULING=batch): the gateway's threads run as SCHED_BATCH (read back from /proc, as the
/// kernel sees them), the gateway serves as it does without it, and an unknown value stops the start with an
/// error that names the variable.
/// </summary>
[Collection(InteropCollection.Name)]
public sealed class ThreadSchedulingTests(InteropFixture fixture)
{
    private const int SchedOther = 0;
    private const int SchedBatch = 3;

    [Fact]
    [Trait("Category", "E2E")]
    public async Task Batch_puts_the_socket_loops_and_the_threads_started_after_them_in_SCHED_BATCH()
    {
        if (!OperatingSystem.IsLinux()) return;
        using var gateway = await GatewayProcess.StartAsync(fixture.Upstream.McpUrl, new Dictionary<string, string> { ["FASTMCP_THREAD_SCHEDULING"] = "batch" });
        string session = await McpWire.OpenSessionAsync(gateway.McpUrl);
        var exchange = await McpWire.PostAsync(gateway.McpUrl, session, McpWire.ToolCallBody(3, "echo", new JsonObject { ["message"] = "scheduled" }.ToJsonString()));
        Assert.True(exchange.Status == 200, exchange.Body);
        JsonObject answer = Assert.Single(exchange.Messages(), m => m["id"] is not null);
        Assert.Equal("Echo: scheduled", (string?)answer["result"]!["content"]![0]!["text"]);
        Assert.Contains("SCHED_BATCH", gateway.Transcript, StringComparison.Ordinal);

        List<ProcessThreads.Thread> threads = ProcessThreads.Of(gateway.Process.Id);
        if (RuntimeInformation.ProcessArchitecture == Architecture.X64)
        {
            var loops = threads.Where(t => t.Name.StartsWith("fastmcp-epoll", StringComparison.Ordinal)).ToList();
            Assert.NotEmpty(loops);
            Assert.All(loops, t => Assert.Equal(SchedBatch, t.Policy));
        }
        // The audit writer is started by the gateway after the policy was set, so it inherits it.
        var audit = threads.Where(t => t.Name.StartsWith("fastmcp-audit", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(audit);
        Assert.All(audit, t => Assert.Equal(SchedBatch, t.Policy));

        // Without the variable nothing is batch.
        var defaultGateway = await fixture.GatewayAsync();
        await McpWire.OpenSessionAsync(defaultGateway.McpUrl);
        Assert.All(ProcessThreads.Of(defaultGateway.Process.Id), t => Assert.Equal(SchedOther, t.Policy));
    }

    [Fact]
    [Trait("Category", "E2E")]
    public async Task The_configuration_file_sets_the_loops_and_the_policy_and_the_variables_override_it()
    {
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64) return;
        string directory = Directory.CreateTempSubdirectory("fastmcp-threads-").FullName;
        string config = Path.Combine(directory, "fastmcp.json");
        File.WriteAllText(config, """
            { "policy": { "rules": [ { "name": "all", "action": "allow" } ] },
              "threads": { "socketLoops": 3, "scheduling": "batch" } }
            """);
        try
        {
            using (var gateway = await GatewayProcess.StartAsync(fixture.Upstream.McpUrl, "--config", config))
            {
                await CallAsync(gateway);
                List<ProcessThreads.Thread> threads = ProcessThreads.Of(gateway.Process.Id);
                var loops = threads.Where(t => t.Name.StartsWith("fastmcp-epoll", StringComparison.Ordinal)).ToList();
                Assert.Equal(3, loops.Count);
                Assert.All(loops, t => Assert.Equal(SchedBatch, t.Policy));
                Assert.All(threads.Where(t => t.Name.StartsWith("fastmcp-audit", StringComparison.Ordinal)), t => Assert.Equal(SchedBatch, t.Policy));
                Assert.Contains("threads.scheduling batch", gateway.Transcript, StringComparison.Ordinal);
            }

            // The variables win over the file: one loop, normal policy.
            using (var gateway = await GatewayProcess.StartAsync(fixture.Upstream.McpUrl,
                new Dictionary<string, string> { ["FASTMCP_THREAD_SCHEDULING"] = "normal", ["FASTMCP_SOCKET_THREADS"] = "1" }, "--config", config))
            {
                await CallAsync(gateway);
                List<ProcessThreads.Thread> threads = ProcessThreads.Of(gateway.Process.Id);
                Assert.Single(threads, t => t.Name.StartsWith("fastmcp-epoll", StringComparison.Ordinal));
                Assert.All(threads, t => Assert.Equal(SchedOther, t.Policy));
            }
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Theory]
    [Trait("Category", "E2E")]
    [InlineData("FASTMCP_SOCKET_THREADS", "many")]
    [InlineData("FASTMCP_THREAD_SCHEDULING", "fifo")]
    public async Task A_bad_value_of_a_thread_variable_stops_the_start_and_names_the_variable(string variable, string value)
    {
        string work = Directory.CreateTempSubdirectory("fastmcp-threads-env-").FullName;
        try
        {
            var (exit, _, stderr) = await GatewayProcess.RunToolAsync(work, new Dictionary<string, string> { [variable] = value },
                "serve", "--anonymous", "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--upstream", fixture.Upstream.McpUrl.ToString());
            Assert.Equal(2, exit);
            Assert.Contains(variable, stderr, StringComparison.Ordinal);
            Assert.Contains($"'{value}'", stderr, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    private static async Task CallAsync(GatewayProcess gateway)
    {
        string session = await McpWire.OpenSessionAsync(gateway.McpUrl);
        var exchange = await McpWire.PostAsync(gateway.McpUrl, session, McpWire.ToolCallBody(4, "echo", new JsonObject { ["message"] = "threads" }.ToJsonString()));
        Assert.True(exchange.Status == 200, exchange.Body);
    }
}
