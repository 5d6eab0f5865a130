using System.Text;
using FastMcp.Audit;
using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Identity;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// A gateway with every stage on (dev identity, policy, masking, strict audit) in front of a scripted upstream
/// that echoes what it received, for the card-number tests: requests go over a raw socket so that headers are
/// exactly what the test writes.
/// </summary>
internal sealed class CardGateway : IAsyncDisposable
{
    private readonly string _dir;
    private bool _stopped;

    private CardGateway(string dir, ScriptedUpstream upstream, GatewayUnderTest gateway, string token)
    {
        _dir = dir;
        Upstream = upstream;
        Gateway = gateway;
        Token = token;
    }

    public ScriptedUpstream Upstream { get; }
    public GatewayUnderTest Gateway { get; }
    public string Token { get; }
    public string AuditDirectory => Path.Combine(_dir, "audit");

    public static async Task<CardGateway> StartAsync(Action<MaskingOptions>? masking = null, List<RuleOptions>? rules = null,
        Func<UpstreamExchange, Task>? upstreamScript = null, Action<GatewayOptions>? configure = null)
    {
        string dir = Path.Combine(Path.GetTempPath(), "fastmcp-cards-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        var upstream = new ScriptedUpstream(upstreamScript ?? UpstreamScripts.Echo);
        GatewayUnderTest gateway;
        try
        {
            gateway = await GatewayUnderTest.StartWithStagesAsync(upstream.Url, options =>
            {
                options.Identity = new IdentityOptions { Mode = IdentityModes.Dev, Resource = "http://127.0.0.1/mcp", DevKeyDirectory = Path.Combine(dir, "dev") };
                options.Policy = new PolicyOptions { Rules = rules ?? [new RuleOptions { Name = "all", Action = "allow" }] };
                masking?.Invoke(options.Masking);
                options.Audit = new AuditOptions { Directory = Path.Combine(dir, "audit"), ChainId = "test" };
                configure?.Invoke(options);
            });
        }
        catch
        {
            // A configuration the gateway refuses: nothing else was started.
            await upstream.DisposeAsync();
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
            throw;
        }
        using DevKey key = DevKeys.LoadOrCreate(Path.Combine(dir, "dev"));
        string token = key.Mint("alice", ["dev"], [], null, DevKeys.Audience, DateTimeOffset.UtcNow, TimeSpan.FromMinutes(10));
        return new CardGateway(dir, upstream, gateway, token);
    }

    /// <summary>POSTs <paramref name="json"/> with the caller's token and any extra header lines; returns the answer.</summary>
    public async Task<RawResponse> PostAsync(string json, string extraHeaders = "", string path = "/mcp")
    {
        using RawClient client = await Gateway.ConnectAsync();
        await client.SendAsync(Gateway.Post(json, $"Authorization: Bearer {Token}\r\n{extraHeaders}", path));
        return await client.ReadResponseAsync();
    }

    /// <summary>
    /// A gateway whose upstream issues session "s-1" on initialize, opens an empty event stream for a GET and answers a
    /// DELETE with an empty 200; the session is opened (for GET and DELETE cases: <see cref="SendInSessionAsync"/>).
    /// </summary>
    public static async Task<CardGateway> StartWithSessionAsync(Action<MaskingOptions>? masking = null, Action<GatewayOptions>? configure = null)
    {
        CardGateway g = await StartAsync(masking: masking, configure: configure, upstreamScript: async x =>
        {
            if (x.Request.Method == "GET")
            {
                await x.StartEventStreamAsync();
                await x.EndChunkedAsync();
                return;
            }
            await x.RespondJsonAsync(x.Request.Method == "DELETE" ? "" : "{\"jsonrpc\":\"2.0\",\"id\":" + x.Request.IdJson() + ",\"result\":{}}", "Mcp-Session-Id: s-1\r\n");
        });
        await g.PostAsync("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"2025-06-18\",\"capabilities\":{},\"clientInfo\":{\"name\":\"t\",\"version\":\"1\"}}}");
        return g;
    }

    /// <summary>Sends a GET or DELETE for <paramref name="target"/> in session "s-1", with extra header lines; returns the answer.</summary>
    public async Task<RawResponse> SendInSessionAsync(string method, string target = "/mcp", string extraHeaders = "")
    {
        using RawClient client = await Gateway.ConnectAsync();
        await client.SendAsync($"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {Token}\r\nMcp-Session-Id: s-1\r\n"
            + $"Accept: text/event-stream\r\nMCP-Protocol-Version: 2025-06-18\r\n{extraHeaders}\r\n");
        return await client.ReadResponseAsync();
    }

    /// <summary>An upstream that answers every request with an empty result under the request's id (it echoes nothing else).</summary>
    public static Task EmptyResult(UpstreamExchange x) => x.RespondJsonAsync("{\"jsonrpc\":\"2.0\",\"id\":" + x.Request.IdJson() + ",\"result\":{}}");

    public static string ToolCall(string idJson, string name, string argumentsJson) =>
        "{\"jsonrpc\":\"2.0\",\"id\":" + idJson + ",\"method\":\"tools/call\",\"params\":{\"name\":\"" + name + "\",\"arguments\":" + argumentsJson + "}}";

    /// <summary>Stops the gateway (sealing the audit log) and returns every record, verified.</summary>
    public async Task<List<string>> StopAndReadAuditAsync()
    {
        await StopAsync();
        return await AuditCards.ReadRecordsAsync(AuditDirectory);
    }

    private async Task StopAsync()
    {
        if (_stopped) return;
        _stopped = true;
        await Gateway.DisposeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        await Upstream.DisposeAsync();
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }
}
