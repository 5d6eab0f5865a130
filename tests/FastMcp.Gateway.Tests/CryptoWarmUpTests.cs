using FastMcp.Gateway.Hosting;

namespace FastMcp.Gateway.Tests;

/// <summary>
/// serve loads OpenSSL on a thread of its own while it parses the configuration (Hosting/CryptoWarmUp.cs): never for
/// pass-through (it uses no crypto before accept), and the thread ends by itself, leaving nothing behind that decides.
/// </summary>
public sealed class CryptoWarmUpTests
{
    [Theory]
    [InlineData("--passthrough", "--upstream", "http://127.0.0.1:9/mcp")]
    [InlineData("--upstream", "http://127.0.0.1:9/mcp", "--passthrough")]
    public void Pass_through_starts_no_thread(params string[] args) => Assert.Null(CryptoWarmUp.Start(args));

    [Theory]
    [InlineData]
    [InlineData("--anonymous")]
    [InlineData("--config", "gateway.json", "--listen", "127.0.0.1:0")]
    public void Other_starts_load_it_on_a_thread_of_its_own_that_ends(params string[] args)
    {
        Thread? thread = CryptoWarmUp.Start(args);
        Assert.NotNull(thread);
        // It may be done already (OpenSSL is loaded once per process): only what a finished thread still says is read.
        Assert.Equal("fastmcp-crypto-init", thread.Name);
        Assert.True(thread.Join(TimeSpan.FromSeconds(30)), "the warm-up thread did not end");
    }
}
