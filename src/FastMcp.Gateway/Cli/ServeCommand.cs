using System.Net;
using System.Runtime.InteropServices;
using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Demo;
using FastMcp.Gateway.Hosting;
using FastMcp.Identity;

namespace FastMcp.Gateway.Cli;

/// <summary>`fastmcp serve`: runs the gateway until SIGTERM or SIGINT.</summary>
internal static class ServeCommand
{
    public const string Usage = """
        fastmcp serve [--config FILE] [--listen HOST:PORT]... [--admin HOST:PORT] [--upstream URL]
                      [--audit-dir DIR] [--chain-id ID] [--anonymous] [--passthrough]

          --config FILE       JSON configuration (docs/configuration.md); without it the embedded
                              defaults serve: loopback listener, dev-mode tokens, built-in demo MCP server.
          --listen HOST:PORT  MCP listener address (repeatable; overrides "listen"). Port 0 picks one.
          --admin HOST:PORT   admin listener for /healthz and /readyz (overrides "admin.listen").
          --upstream URL      upstream MCP server, e.g. http://127.0.0.1:3001/mcp (overrides "upstream.url").
          --audit-dir DIR     audit segment folder (overrides "audit.directory").
          --chain-id ID       this replica's audit chain id (overrides "audit.chainId"), e.g. the pod name.
          --anonymous         every caller is "anonymous" (only allowed on loopback listeners).
          --passthrough       forward bytes without identity, policy, masking or audit (benchmarks only).
        """;

    public static async Task<int> RunAsync(string[] args)
    {
        Transport.SocketEngineSettings.PreferInlineCompletions();
        // OpenSSL loads on the second core while the configuration is parsed (Hosting/CryptoWarmUp.cs).
        CryptoWarmUp.Start(args);
        GatewayOptions options = LoadOptions(args, out string? configPath);
        // Read synchronously, so no thread of the gateway's exists yet: they all inherit the policy, and the socket
        // loops are created at the first socket.
        Transport.ThreadScheduling.ApplyAtStart(options.Threads.Scheduling);
        Transport.Epoll.ReadinessEngine.ConfigureLoops(options.Threads.SocketLoops);
        Log.Apply(options.Log);
        if (Transport.ThreadScheduling.Batch) Log.Info($"{Transport.ThreadScheduling.Source} batch: the gateway's threads run as SCHED_BATCH");
        using AccessLog? accessLog = options.Log.Access ? new AccessLog() : null;
        AccessLog.Current = accessLog;

        DemoMcpServer? demo = null;
        // Every stdio upstream (the default one, named ones) is served by a loopback bridge of its own, started first.
        Dictionary<string, Upstream.Stdio.StdioBridge> stdio = Upstream.Stdio.StdioBridges.Start(options);
        string? defaultUrl = stdio.TryGetValue(RouteValidation.DefaultUpstreamName, out Upstream.Stdio.StdioBridge? defaultBridge) ? defaultBridge.Url : null;
        // Routes without an "upstream.url" have no default route; no routes and no url: the demo server is it.
        if (defaultUrl is null && string.IsNullOrEmpty(options.Upstream.Url) && RouteValidation.HasDefaultRoute(options))
        {
            demo = new DemoMcpServer(new IPEndPoint(IPAddress.Loopback, 0));
            options.Upstream.Url = demo.Url;
            Log.Info($"no upstream configured: serving the built-in demo MCP server at {demo.Url}");
        }
        defaultUrl ??= string.IsNullOrEmpty(options.Upstream.Url) ? null : options.Upstream.Url;
        UpstreamUrl? upstream = RouteValidation.HasDefaultRoute(options) && defaultUrl is not null ? UpstreamUrl.Parse(defaultUrl, "upstream.url") : null;

        var stop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using PosixSignalRegistration sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, ctx => { ctx.Cancel = true; stop.TrySetResult(); });
        using PosixSignalRegistration sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, ctx => { ctx.Cancel = true; stop.TrySetResult(); });

        var configured = options.Listen.ConvertAll(l => ListenAddress.Parse(l, "listen"));
        await using GatewayStages stages = await GatewayStages.CreateAsync(options, configured, CancellationToken.None).ConfigureAwait(false);
        GatewayHost host = new(options, upstream, stages, stdio);
        using ConfigurationReloader? reloader = configPath is not null && stages.Authorization is not null
            ? new ConfigurationReloader(configPath, stages.Authorization, stages.Audit, stages.Masking, TimeSpan.FromSeconds(2), options, host.Routes, stages.Authentication)
            : null;
        // Dev mode without issuers too: a reload may add some (identity.issuers applies live).
        using SigningKeyRefresh? keyRefresh = stages.Authentication is { IsAnonymous: false } authentication
            ? new SigningKeyRefresh(authentication, onSignal: true)
            : null;

        string authority = ListenAddress.ToUrlAuthority(host.Endpoints[0]);
        string url = $"{(options.Tls is null ? "http" : "https")}://{authority}{(host.Routes.Routes.Count > 0 ? host.Routes.Routes[0].PathText : host.Routes.Federated[0].PathText)}";
        Console.Out.WriteLine($"fastmcp listening on {url}");
        if (host.AdminEndpoint is { } adminEp) Console.Out.WriteLine($"fastmcp admin on http://{ListenAddress.ToUrlAuthority(adminEp)}");
        PrintFirstCall(options, url, demo is not null);
        Console.Out.Flush();
        foreach (Upstream.UpstreamRoute route in host.Routes.Routes)
            Log.Info($"forwarding http://{authority}{route.PathText} -> {route.Describe()} (upstream '{route.Name}')");
        foreach (Federation.FederatedRoute route in host.Routes.Federated)
            Log.Info($"federating http://{authority}{route.PathText} -> {string.Join(", ", Array.ConvertAll(route.Members, m => $"'{m.Name}' {m.Describe()}"))}");
        Log.Info($"identity: {(options.Passthrough ? "off (pass-through)" : options.Identity!.Mode)}, audit: {(options.Passthrough ? "off" : options.Audit.Directory)}");

        await stop.Task.ConfigureAwait(false);
        Log.Info("stopping: no new connections; finishing in-flight exchanges");
        await host.StopAsync(TimeSpan.FromMilliseconds(options.Timeouts.ShutdownMs)).ConfigureAwait(false);
        demo?.Dispose();
        Log.Info("stopped");
        return 0;
    }

    /// <summary>The configuration serve runs with: the file (or embedded defaults), then the flags, validated.</summary>
    internal static GatewayOptions LoadOptions(string[] args, out string? configPath)
    {
        CommandLine cl = CommandLine.Parse(args, ["--config", "--listen", "--admin", "--upstream", "--audit-dir", "--chain-id"], ["--anonymous", "--passthrough"]);
        configPath = cl.Get("--config");
        GatewayOptions options = ConfigurationLoader.Load(configPath);
        if (cl.GetAll("--listen") is { Count: > 0 } listen) options.Listen = [.. listen];
        if (cl.Get("--admin") is { } admin) options.Admin.Listen = admin;
        if (cl.Get("--upstream") is { } upstreamUrl) options.Upstream.Url = upstreamUrl;
        if (cl.Get("--audit-dir") is { } auditDir) options.Audit.Directory = auditDir;
        if (cl.Get("--chain-id") is { } chainId)
        {
            if (!FastMcp.Audit.ChainIdRules.IsValid(chainId)) throw new ConfigurationException("--chain-id", $"'{chainId}' is not 1-64 characters of [A-Za-z0-9._-]");
            options.Audit.ChainId = chainId;
        }
        if (cl.Has("--passthrough")) options.Passthrough = true;
        if (cl.Has("--anonymous"))
        {
            options.Identity ??= new IdentityOptions();
            options.Identity.Mode = IdentityModes.Anonymous;
        }
        if (configPath is null) EmbeddedDefaults.Apply(options);
        ConfigurationLoader.Validate(options);
        return options;
    }

    private static void PrintFirstCall(GatewayOptions options, string url, bool demo)
    {
        string auth = "";
        if (!options.Passthrough && options.Identity!.Mode == IdentityModes.Dev)
        {
            // A dev token for the first call, signed by the local dev key that only dev mode trusts.
            using DevKey key = DevKeys.LoadOrCreate(string.IsNullOrEmpty(options.Identity.DevKeyDirectory) ? DevKeys.DefaultDirectory : options.Identity.DevKeyDirectory);
            string token = key.Mint("alice", ["dev"], [], null, DevKeys.Audience, DateTimeOffset.UtcNow, TimeSpan.FromHours(1));
            auth = $" -H 'Authorization: Bearer {token}'";
        }
        string tool = demo ? "lookup_customer" : "<tool>";
        string args = demo ? """{"customer_id":"c-1001"}""" : "{}";
        Console.Out.WriteLine();
        Console.Out.WriteLine(demo ? "Try a first call (the demo tool returns test card numbers; FastMcp masks them):" : "Try a first call:");
        string body = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"" + tool + "\",\"arguments\":" + args + "}}";
        Console.Out.WriteLine($"  curl -s {url}{auth} -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' -d '{body}'");
        if (auth.Length > 0) Console.Out.WriteLine("  (more dev tokens: fastmcp token --sub alice --groups sre)");
    }
}
