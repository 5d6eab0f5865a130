using Yarp.ReverseProxy.Configuration;

// fastmcp-yarp-proxy: the smallest YARP pass-through, the .NET peer FastMcp is compared with.
// usage: fastmcp-yarp-proxy --listen 127.0.0.1:PORT --upstream http://127.0.0.1:PORT
string? listen = null;
string? upstream = null;
for (var i = 0; i + 1 < args.Length; i += 2)
{
    switch (args[i])
    {
        case "--listen": listen = args[i + 1]; break;
        case "--upstream": upstream = args[i + 1]; break;
        default:
            Console.Error.WriteLine($"unknown option {args[i]}");
            return 2;
    }
}

if (listen is null || upstream is null)
{
    Console.Error.WriteLine("usage: fastmcp-yarp-proxy --listen 127.0.0.1:PORT --upstream http://HOST:PORT");
    return 2;
}

var builder = WebApplication.CreateSlimBuilder();
builder.Logging.ClearProviders();
builder.WebHost.UseUrls($"http://{listen}");

// One route, every path, to one destination: a pure pass-through with YARP's default transforms.
RouteConfig[] routes = [new RouteConfig { RouteId = "all", ClusterId = "upstream", Match = new RouteMatch { Path = "{**catch-all}" } }];
ClusterConfig[] clusters =
[
    new ClusterConfig
    {
        ClusterId = "upstream",
        Destinations = new Dictionary<string, DestinationConfig> { ["upstream"] = new DestinationConfig { Address = upstream } },
        // HTTP/1.1 to the upstream as the other targets use; no HTTP/2 upgrade attempt on plain http.
        HttpRequest = new Yarp.ReverseProxy.Forwarder.ForwarderRequestConfig { Version = new Version(1, 1), VersionPolicy = HttpVersionPolicy.RequestVersionExact },
    },
];
builder.Services.AddReverseProxy().LoadFromMemory(routes, clusters);

var app = builder.Build();
app.MapReverseProxy();
app.Lifetime.ApplicationStarted.Register(() => Console.WriteLine($"yarp listening on http://{listen}"));
await app.RunAsync();
return 0;
