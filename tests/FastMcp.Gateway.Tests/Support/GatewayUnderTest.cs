using System.Net;
using System.Text;
using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Hosting;

namespace FastMcp.Gateway.Tests.Support;

/// <summary>
/// A real <see cref="GatewayHost"/> in this process, listening on 127.0.0.1:0 (MCP and admin), in
/// front of a given upstream URL. Options may be adjusted before start (small timeouts and limits).
/// </summary>
internal sealed class GatewayUnderTest : IAsyncDisposable
{
    private readonly GatewayStages _stages;

    private GatewayUnderTest(GatewayHost host, GatewayOptions options, GatewayStages stages)
    {
        Host = host;
        Options = options;
        _stages = stages;
    }

    public GatewayHost Host { get; }

    /// <summary>The bridges of named stdio upstreams, by upstream name (StartWithStagesAsync only).</summary>
    public IReadOnlyDictionary<string, Upstream.Stdio.StdioBridge> StdioBridges { get; private init; } = new Dictionary<string, Upstream.Stdio.StdioBridge>();
    public GatewayStages Stages => _stages;
    public GatewayOptions Options { get; }
    public IPEndPoint Endpoint => Host.Endpoints[0];
    public IPEndPoint AdminEndpoint => Host.AdminEndpoint ?? throw new InvalidOperationException("admin listener disabled");

    /// <summary>The Host header value a local client sends.</summary>
    public string Authority => $"127.0.0.1:{Endpoint.Port}";

    public static GatewayUnderTest Start(string upstreamUrl, Action<GatewayOptions>? configure = null)
    {
        var options = new GatewayOptions
        {
            Listen = ["127.0.0.1:0"],
            Admin = new AdminOptions { Listen = "127.0.0.1:0" },
        };
        options.Upstream.Url = upstreamUrl;
        options.Upstream.ConnectTimeoutMs = 2_000;
        options.Upstream.ResponseTimeoutMs = 10_000;
        options.Timeouts.ShutdownMs = 5_000;
        configure?.Invoke(options);
        ConfigurationLoader.Validate(options);
        // No identity, policy, masking or audit stage: these tests are about the core (framing, forwarding,
        // relay, inspection), which runs the same with every stage absent.
        var stages = new GatewayStages();
        var host = new GatewayHost(options, UpstreamUrl.Parse(options.Upstream.Url, "upstream.url"), stages);
        return new GatewayUnderTest(host, options, stages);
    }

    /// <summary>
    /// The same with every stage built from <paramref name="configure"/>d options (identity, policy,
    /// masking, audit, approvals), as `fastmcp serve` builds them; the policy's "time" conditions read
    /// <paramref name="policyClock"/> (the system clock when null).
    /// </summary>
    public static async Task<GatewayUnderTest> StartWithStagesAsync(string upstreamUrl, Action<GatewayOptions> configure, TimeProvider? policyClock = null)
    {
        var options = new GatewayOptions
        {
            Listen = ["127.0.0.1:0"],
            Admin = new AdminOptions { Listen = "127.0.0.1:0" },
        };
        options.Upstream.Url = upstreamUrl;
        configure(options);
        ConfigurationLoader.Validate(options);
        // Stdio upstreams get their bridge (and runAs checks) as `fastmcp serve` gives them, first; the host stops their processes when it stops.
        Dictionary<string, Upstream.Stdio.StdioBridge> stdio = Upstream.Stdio.StdioBridges.Start(options);
        GatewayStages stages = await GatewayStages.CreateAsync(options, [new IPEndPoint(IPAddress.Loopback, 0)], policyClock ?? TimeProvider.System, CancellationToken.None);
        var host = new GatewayHost(options, UpstreamUrl.Parse(options.Upstream.Url, "upstream.url"), stages, stdio);
        return new GatewayUnderTest(host, options, stages) { StdioBridges = stdio };
    }

    public Task<RawClient> ConnectAsync() => RawClient.ConnectAsync(Endpoint);

    /// <summary>A POST of <paramref name="json"/> to the MCP endpoint, with any extra header lines ("Name: value\r\n").</summary>
    public string Post(string json, string extraHeaders = "", string path = "/mcp") =>
        $"POST {path} HTTP/1.1\r\nHost: {Authority}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\n" +
        $"Content-Length: {Encoding.UTF8.GetByteCount(json)}\r\n{extraHeaders}\r\n{json}";

    /// <summary>POSTs <paramref name="json"/> to the MCP endpoint as a JSON-only client with a bearer token and returns the JSON answer.</summary>
    public async Task<System.Text.Json.JsonElement> CallJsonAsync(HttpClient http, string json, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri($"http://127.0.0.1:{Endpoint.Port}/mcp"))
        {
            Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.Accept.ParseAdd("application/json");
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        using HttpResponseMessage response = await http.SendAsync(request);
        using var document = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return document.RootElement.Clone();
    }

    public static string ToolsList(string idJson) => "{\"jsonrpc\":\"2.0\",\"id\":" + idJson + ",\"method\":\"tools/list\",\"params\":{}}";

    public async ValueTask DisposeAsync()
    {
        await Host.DisposeAsync().ConfigureAwait(false);
        await _stages.DisposeAsync().ConfigureAwait(false);
    }
}
