using System.Net.Sockets;

namespace FastMcp.Interop.Tests.Harness;

/// <summary>
/// The reference MCP server from the official servers repository, run under node in Streamable
/// HTTP mode. It binds all interfaces on PORT, so the port is picked on loopback and the tests
/// only ever talk to 127.0.0.1.
/// </summary>
internal sealed class ServerEverything : IDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private readonly ChildProcess _process;

    private ServerEverything(ChildProcess process, int port)
    {
        _process = process;
        Port = port;
        McpUrl = new Uri($"http://127.0.0.1:{port}/mcp");
    }

    public int Port { get; }

    public Uri McpUrl { get; }

    public string Transcript => _process.Transcript;

    public static async Task<ServerEverything> StartAsync()
    {
        RepoPaths.RequireNodePeers();
        // The port is free when picked but could be taken before node binds it: try a few.
        Exception? last = null;
        for (var attempt = 0; attempt < 3; attempt++)
        {
            var port = UnusedPort.Pick();
            var process = ChildProcess.Start(
                RepoPaths.NodeExecutable,
                [RepoPaths.ServerEverythingEntry, "streamableHttp"],
                new Dictionary<string, string> { ["PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture) },
                RepoPaths.NodeDirectory);
            var server = new ServerEverything(process, port);
            try
            {
                await server.WaitUntilAnsweringAsync();
                return server;
            }
            catch (Exception e) when (e is TimeoutException or InvalidOperationException)
            {
                last = e;
                server.Dispose();
            }
        }
        throw new InvalidOperationException("server-everything did not start", last);
    }

    // Ready means an MCP request gets an HTTP answer; a GET without a session is refused with 400.
    private async Task WaitUntilAnsweringAsync()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow + StartTimeout;
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"server-everything exited during start\n{_process.Transcript}");
            }
            try
            {
                using var response = await http.GetAsync(McpUrl);
                return;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or SocketException)
            {
                await Task.Delay(100);
            }
        }
        throw new TimeoutException($"server-everything did not answer on {McpUrl} within {StartTimeout}\n{_process.Transcript}");
    }

    public void Dispose() => _process.Dispose();
}
