using FastMcp.Policy;

namespace FastMcp.Gateway.Tests.Support;

/// <summary>
/// What the DPoP test classes share: a real gateway allowing every call to the echo upstream, a minter of tokens bound
/// to a key (signed with the gateway's dev issuer key), and the client's own proof key.
/// </summary>
public abstract class DpopGatewayTest : IAsyncLifetime
{
    // identity.resource of PolicyGateway is http://127.0.0.1/mcp: the URL the client addresses.
    protected const string Htu = "http://127.0.0.1/mcp";
    protected const string ToolCall = """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{}}}""";

    private protected PolicyGateway Gw { get; private set; } = null!;
    private protected BoundTokens Tokens { get; private set; } = null!;
    private protected DpopKey ClientKey { get; } = new();

    public async Task InitializeAsync()
    {
        Gw = await PolicyGateway.StartAsync(UpstreamScripts.Echo, [new RuleOptions { Name = "all", Action = "allow" }]);
        Tokens = new BoundTokens(Gw.DevKeyDirectory);
    }

    public async Task DisposeAsync()
    {
        Tokens.Dispose();
        ClientKey.Dispose();
        await Gw.DisposeAsync();
    }
}
