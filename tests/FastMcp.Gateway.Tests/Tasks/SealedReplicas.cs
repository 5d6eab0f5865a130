using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Identity;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests.Tasks;

/// <summary>
/// What two gateway replicas share with tasks.sealed on: one identity key and one card fingerprint key in a temporary
/// folder; each replica is its own in-process gateway in front of its own scripted upstream (one task store between them).
/// </summary>
internal sealed class SealedReplicas : IDisposable
{
    public static readonly List<RuleOptions> AllowAll = [new RuleOptions { Name = "all", Action = "allow" }];

    public const string Initialize =
        """{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}""";

    // What the replicas share: the identity provider's key (dev mode) and the card fingerprint key.
    private readonly ReplicaKeys _keys = new();

    public string Token(string subject, params string[] groups) => _keys.Token(subject, groups);

    /// <summary>The card fingerprint key file every replica's seal keys derive from.</summary>
    public string PanKeyFile => _keys.PanKeyFile;

    public Task<PolicyGateway> StartAsync(Func<UpstreamExchange, Task> script) => StartAsync(script, AllowAll);

    /// <summary>A replica under its own <paramref name="rules"/> (as after a restart under a new policy), configured further by <paramref name="configure"/>.</summary>
    public Task<PolicyGateway> StartAsync(Func<UpstreamExchange, Task> script, List<RuleOptions> rules, Action<GatewayOptions>? configure = null) =>
        PolicyGateway.StartAsync(script, rules, o =>
        {
            _keys.Share(o);
            o.Tasks.Sealed = true;
            configure?.Invoke(o);
        });

    /// <summary>A 2026-07-28 tools/call that the task server answers with a new task; its sealed id as the client got it.</summary>
    public static async Task<string> CreateTaskAsync(PolicyGateway gw, string token, string arguments = """{"q":"x"}""")
    {
        RawResponse created = await CallAsync(gw, token, arguments);
        using var doc = System.Text.Json.JsonDocument.Parse(created.Body);
        string id = doc.RootElement.GetProperty("result").GetProperty("taskId").GetString()!;
        Assert.StartsWith("fmt2.", id);
        return id;
    }

    /// <summary>The 2026-07-28 tools/call of 'research' with <paramref name="arguments"/>, as the gateway answered it.</summary>
    public static Task<RawResponse> CallAsync(PolicyGateway gw, string token, string arguments = """{"q":"x"}""") =>
        gw.PostAsync(
            "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"research\",\"arguments\":" + arguments + ","
            + "\"_meta\":{\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\"}}}",
            token, "MCP-Protocol-Version: 2026-07-28\r\nMcp-Method: tools/call\r\nMcp-Name: research\r\n");

    /// <summary>Initializes a 2025-11-25 session of <paramref name="token"/>'s caller; its Mcp-Session-Id.</summary>
    public static async Task<string> InitializeAsync(PolicyGateway gw, string token) =>
        (await gw.PostAsync(Initialize, token)).Header("Mcp-Session-Id") ?? throw new Xunit.Sdk.XunitException("initialize gave no session");

    public void Dispose() => _keys.Dispose();
}
