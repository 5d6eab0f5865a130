using FastMcp.Gateway.Cli;
using FastMcp.Gateway.Configuration;

namespace FastMcp.Gateway.Tests;

/// <summary>How `fastmcp serve` builds its options from the file and the command line.</summary>
public sealed class ServeCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fastmcp-serve-options-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write()
    {
        string path = Path.Combine(_dir, "fastmcp.json");
        File.WriteAllText(path, """
            {
              "identity": { "mode": "dev", "resource": "http://127.0.0.1:8080/mcp" },
              "policy": { "rules": [{ "name": "all", "action": "allow" }] },
              "audit": { "chainId": "from-file" }
            }
            """);
        return path;
    }

    [Fact]
    public void The_chain_id_comes_from_the_file_without_the_flag()
    {
        Assert.Equal("from-file", ServeCommand.LoadOptions(["--config", Write()], out _).Audit.ChainId);
    }

    [Fact]
    public void Serve_takes_the_chain_id_from_the_command_line()
    {
        string path = Write();
        GatewayOptions options = ServeCommand.LoadOptions(["--config", path, "--chain-id", "fastmcp-2"], out string? configPath);
        Assert.Equal(path, configPath);
        Assert.Equal("fastmcp-2", options.Audit.ChainId);
    }

    [Fact]
    public void Serve_refuses_a_chain_id_that_cannot_name_a_folder()
    {
        string path = Write();
        ConfigurationException e = Assert.Throws<ConfigurationException>(() => ServeCommand.LoadOptions(["--config", path, "--chain-id", "../x"], out _));
        Assert.Equal("--chain-id", e.Field);
    }
}
