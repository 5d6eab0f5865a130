using FastMcp.Gateway.Configuration;

namespace FastMcp.Gateway.Tests.Support;

/// <summary>
/// A node stdio MCP server for one test: its script in a folder of its own (deleted on dispose), served by the gateway as
/// upstream <c>tool</c> on the route <see cref="Route"/>.
/// </summary>
internal sealed class StdioServerFolder : IDisposable
{
    public const string Route = "/mcp/tool";

    private readonly string _directory;
    private readonly string _script;

    public StdioServerFolder(string script)
    {
        _directory = Path.Combine(Path.GetTempPath(), "fastmcp-stdio-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(_directory);
        _script = Path.Combine(_directory, "server.cjs");
        File.WriteAllText(_script, script);
    }

    /// <summary>The folder of the script (the server's working directory unless <c>AddTo</c>'s <c>adjust</c> changes it).</summary>
    public string Directory => _directory;

    /// <summary>
    /// Adds the upstream and its route to the gateway's options; <paramref name="sessionIdleMs"/> overrides the stdio default,
    /// <paramref name="adjust"/> any other stdio option (runAs, limits).
    /// </summary>
    public void AddTo(GatewayOptions options, int? sessionIdleMs = null, Action<StdioUpstreamOptions>? adjust = null)
    {
        var stdio = new StdioUpstreamOptions { Command = "node", Args = [_script], WorkingDirectory = _directory };
        if (sessionIdleMs is { } idle) stdio.SessionIdleMs = idle;
        adjust?.Invoke(stdio);
        options.Upstreams["tool"] = new UpstreamOptions { Stdio = stdio };
        options.Routes = [new RouteOptions { Path = Route, Upstream = "tool" }];
    }

    public void Dispose() => System.IO.Directory.Delete(_directory, recursive: true);
}
