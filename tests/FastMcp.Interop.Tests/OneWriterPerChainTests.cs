using FastMcp.Interop.Tests.Harness;

namespace FastMcp.Interop.Tests;

/// <summary>
/// Two `fastmcp serve` processes on one audit folder both started, split the traffic, and the second
/// "recovered" the first one's live segment: the chain was INVALID for good. The second now refuses to start,
/// naming the chain, and the first keeps serving.
/// </summary>
public sealed class OneWriterPerChainTests : IAsyncLifetime
{
    private readonly CannedMcpUpstream _upstream = new();
    private readonly string _audit = Directory.CreateTempSubdirectory("fastmcp-onewriter-").FullName;

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        _upstream.Dispose();
        try { Directory.Delete(_audit, recursive: true); } catch (IOException) { }
        return Task.CompletedTask;
    }

    [Fact]
    public async Task A_second_gateway_on_the_same_audit_chain_refuses_to_start()
    {
        using GatewayProcess first = await GatewayProcess.StartAsync(_upstream.Url, "--audit-dir", _audit);

        var (exit, stdout, stderr) = await GatewayProcess.RunToolAsync(_audit, null,
            "serve", "--upstream", _upstream.Url.ToString(), "--listen", "127.0.0.1:0", "--admin", "", "--anonymous", "--audit-dir", _audit);

        Assert.NotEqual(0, exit);
        Assert.Contains("locked by another running gateway", stdout + stderr);
        Assert.DoesNotContain("fastmcp listening on", stdout);

        // The first one was not disturbed.
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(20) };
        using HttpResponseMessage ready = await http.GetAsync(new Uri(first.AdminUrl, "/readyz"));
        Assert.Equal(System.Net.HttpStatusCode.OK, ready.StatusCode);
    }
}
