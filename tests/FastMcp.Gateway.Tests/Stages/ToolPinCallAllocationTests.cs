using System.Buffers;
using System.Text;
using System.Text.Json;
using FastMcp.Gateway.Buffers;
using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Stages;
using FastMcp.Gateway.ToolPins;
using FastMcp.Identity;
using FastMcp.Mcp;
using FastMcp.Policy;
using FastMcp.Testing;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>The per-call pin check on an enforcing upstream (a lookup keyed by the name's bytes) allocates nothing, admitted or refused.</summary>
public sealed class ToolPinCallAllocationTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fastmcp-pinalloc-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <param name="upstream">"default": a plain route; "mail": a member of a federated path, decided (as the gateway does) on the
    /// call rewritten for it, its name without the member's prefix.</param>
    [Theory]
    [InlineData("default")]
    [InlineData("mail")]
    public void Deciding_a_tools_call_against_the_pins_allocates_nothing(string upstream)
    {
        using JsonDocument tool = JsonDocument.Parse("""{"name":"send_mail","inputSchema":{"type":"object"}}""");
        string pins = Path.Combine(_dir, "pins.json");
        File.WriteAllText(pins, "{\"" + upstream + "\":{\"send_mail\":\"" + ToolDefinitionDigest.Compute(tool.RootElement) + "\"}}");
        var options = new GatewayOptions
        {
            Upstream = new UpstreamOptions { Url = "http://127.0.0.1:1/mcp" },
            ToolPins = new ToolPinOptions { Mode = "enforce", File = pins },
        };
        options.Upstreams["mail"] = new UpstreamOptions { Url = "http://127.0.0.1:1/mail" };
        options.Upstreams["files"] = new UpstreamOptions { Url = "http://127.0.0.1:1/files" };
        options.Routes = [new RouteOptions { Path = "/mcp/all", Federate = ["mail", "files"] }];
        var authorization = new PolicyAuthorization(PolicyEngine.Compile(new PolicyOptions
        {
            Rules = [new RuleOptions { Name = "call", Action = "allow", Methods = ["tools/call"] }],
        })) { ToolPins = ToolPinning.Create(options) };
        var principal = new Principal("alice", [], [], null, null, DateTimeOffset.MaxValue);
        using var scratch = new PooledBufferWriter(256);
        var pinned = new ReadOnlySequence<byte>("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"send_mail","arguments":{"to":"bob"}}}"""u8.ToArray());
        var unpinned = new ReadOnlySequence<byte>("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"exfiltrate","arguments":{}}}"""u8.ToArray());
        Assert.Equal(McpInspectError.None, McpInspector.Inspect(pinned, out McpCall pinnedCall));
        Assert.Equal(McpInspectError.None, McpInspector.Inspect(unpinned, out McpCall unpinnedCall));

        int admitted = 0, refused = 0;
        void Once()
        {
            if (authorization.Decide(principal, pinnedCall, pinned, scratch, upstream, default, null).Action == PolicyAction.Allow) admitted++;
            if (ReferenceEquals(authorization.Decide(principal, unpinnedCall, unpinned, scratch, upstream, default, null).Rule, PolicyEngine.ToolNotPinnedRule)) refused++;
        }
        for (int i = 0; i < 1000; i++) Once();
        Action body = () => { for (int i = 0; i < 10_000; i++) Once(); };
        admitted = refused = 0;
        long allocated = ThreadAllocations.Measure(body);

        Assert.Equal(0, allocated);
        Assert.True(admitted > 0 && admitted == refused, $"admitted {admitted}, refused {refused}");
    }
}
