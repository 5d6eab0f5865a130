using System.Runtime.InteropServices;
using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Demo;
using FastMcp.Gateway.Hosting;
using FastMcp.Gateway.Stages;

namespace FastMcp.Gateway.Cli;

/// <summary>`fastmcp serve`: runs the gateway until SIGTERM or SIGINT.</summary>
internal static class ServeCommand
{
    public const string Usage = """
        fastmcp serve [--config FILE] [--listen HOST:PORT]... [--admin HOST:PORT] [--upstream URL]
                      [--anonymous] [--passthrough]

          --config FILE       JSON configuration (docs/configuration.md); without it the embedded
                              defaults serve: loopback listener, built-in demo MCP server upstream.
          --listen HOST:PORT  MCP listener address (repeatable; overrides "listen"). Port 0 picks one.
          --admin HOST:PORT   admin listener for /healthz and /readyz (overrides "admin.listen").
          --upstream URL      upstream MCP server, e.g. http://127.0.0.1:3001/mcp (overrides "upstream.url").
          --anonymous         every caller is "anonymous" (only allowed on loopback listeners).
          --passthrough       forward without MCP inspection (benchmarks and diagnostics).
        """;

    public static async Task<int> RunAsync(string[] args)
    {
        CommandLine cl = CommandLine.Parse(args, ["--config", "--listen", "--admin", "--upstream"], ["--anonymous", "--passthrough"]);
        GatewayOptions options = ConfigurationLoader.Load(cl.Get("--config"));
        if (cl.GetAll("--listen") is { Count: > 0 } listen) options.Listen = [.. listen];
        if (cl.Get("--admin") is { } admin) options.Admin.Listen = admin;
        if (cl.Get("--upstream") is { } upstreamUrl) options.Upstream.Url = upstreamUrl;
        if (cl.Has("--passthrough")) options.Passthrough = true;
        ConfigurationLoader.Validate(options);

        DemoMcpServer? demo = null;
        if (string.IsNullOrEmpty(options.Upstream.Url))
        {
            demo = new DemoMcpServer(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
            options.Upstream.Url = demo.Url;
            Log.Info($"no upstream configured: serving the built-in demo MCP server at {demo.Url}");
        }
        UpstreamUrl upstream = UpstreamUrl.Parse(options.Upstream.Url, "upstream.url");

        var stop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using PosixSignalRegistration sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, ctx => { ctx.Cancel = true; stop.TrySetResult(); });
        using PosixSignalRegistration sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, ctx => { ctx.Cancel = true; stop.TrySetResult(); });

        GatewayHost host = new(options, upstream, Array.Empty<IResponseTransform>());
        string url = $"http://{ListenAddress.ToUrlAuthority(host.Endpoints[0])}{options.EndpointPath}";
        Console.Out.WriteLine($"fastmcp listening on {url}");
        if (host.AdminEndpoint is { } adminEp) Console.Out.WriteLine($"fastmcp admin on http://{ListenAddress.ToUrlAuthority(adminEp)}");
        if (demo is not null)
        {
            Console.Out.WriteLine();
            Console.Out.WriteLine("Try a first call (the demo tool returns test card numbers):");
            const string firstCall = """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"lookup_customer","arguments":{"customer_id":"c-1001"}}}""";
            Console.Out.WriteLine($"  curl -s {url} -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' -d '{firstCall}'");
        }
        Console.Out.Flush();
        Log.Info($"forwarding {url} -> {upstream.Text}");

        await stop.Task.ConfigureAwait(false);
        Log.Info("stopping: no new connections; finishing in-flight exchanges");
        await host.StopAsync(TimeSpan.FromMilliseconds(options.Timeouts.ShutdownMs)).ConfigureAwait(false);
        demo?.Dispose();
        Log.Info("stopped");
        return 0;
    }
}
