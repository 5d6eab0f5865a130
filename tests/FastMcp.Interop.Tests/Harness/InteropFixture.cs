namespace FastMcp.Interop.Tests.Harness;

/// <summary>
/// One server-everything for the whole suite, and one gateway in front of it started on first
/// use: a gateway that fails to start then fails only the gateway tests, with its transcript,
/// while the direct runs still report on their own.
/// </summary>
public sealed class InteropFixture : IAsyncLifetime
{
    private readonly Lazy<Task<GatewayProcess>> _gateway;
    private ServerEverything? _server;

    public InteropFixture()
    {
        _gateway = new Lazy<Task<GatewayProcess>>(() => GatewayProcess.StartAsync(Upstream.McpUrl));
    }

    internal ServerEverything Upstream =>
        _server ?? throw new InvalidOperationException("server-everything is not running");

    internal Task<GatewayProcess> GatewayAsync() => _gateway.Value;

    public async Task InitializeAsync() => _server = await ServerEverything.StartAsync();

    public async Task DisposeAsync()
    {
        if (_gateway.IsValueCreated)
        {
            try
            {
                (await _gateway.Value).Dispose();
            }
            catch (Exception e) when (e is InvalidOperationException or TimeoutException or FileNotFoundException)
            {
                // The gateway never started; its failure was already reported by the tests.
            }
        }
        _server?.Dispose();
    }
}

[CollectionDefinition(Name)]
public sealed class InteropCollection : ICollectionFixture<InteropFixture>
{
    public const string Name = "interop";
}
