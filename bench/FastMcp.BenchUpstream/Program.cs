using System.Net;
using System.Runtime.InteropServices;
using FastMcp.BenchUpstream;

// fastmcp-bench-upstream: an MCP server that answers from canned bytes, for load tests.
const string Usage = """
    usage: fastmcp-bench-upstream [--listen 127.0.0.1:PORT] [--path /mcp]
      Answers POST <path>: initialize (with Mcp-Session-Id), notifications (202), ping, tools/list,
      tools/call echo | cards (test card numbers) | stream (SSE: 3 progress events, then the result)
      | drop_database. PORT 0 picks a free port; the chosen address is printed on stdout.
    """;

var listen = "127.0.0.1:0";
var path = "/mcp";
for (var i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--listen" when i + 1 < args.Length:
            listen = args[++i];
            break;
        case "--path" when i + 1 < args.Length:
            path = args[++i];
            break;
        case "-h" or "--help":
            Console.WriteLine(Usage);
            return 0;
        default:
            Console.Error.WriteLine($"unknown argument: {args[i]}");
            Console.Error.WriteLine(Usage);
            return 2;
    }
}

if (!IPEndPoint.TryParse(listen, out var endPoint))
{
    Console.Error.WriteLine($"--listen wants HOST:PORT, got '{listen}'");
    return 2;
}

using var stop = new CancellationTokenSource();
using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context => { context.Cancel = true; stop.Cancel(); });
using var onInt = PosixSignalRegistration.Create(PosixSignal.SIGINT, context => { context.Cancel = true; stop.Cancel(); });

using var server = new UpstreamServer(endPoint, path);
Console.WriteLine($"bench-upstream listening on http://{server.LocalEndPoint}{path}");
await server.AcceptLoopAsync(stop.Token);
return 0;
