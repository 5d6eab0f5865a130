namespace FastMcp.Load;

/// <summary>The JSON-RPC bodies the load generator sends; "{{id}}" marks where the id goes.</summary>
internal static class McpBodies
{
    public const string Initialize =
        """{"jsonrpc":"2.0","id":{{id}},"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"fastmcp-load","version":"1.0.0"}}}""";

    public const string Initialized = """{"jsonrpc":"2.0","method":"notifications/initialized"}""";

    public static string For(CallKind kind) => kind switch
    {
        CallKind.Echo => """{"jsonrpc":"2.0","id":{{id}},"method":"tools/call","params":{"name":"echo","arguments":{"text":"hello"}}}""",
        CallKind.Cards => """{"jsonrpc":"2.0","id":{{id}},"method":"tools/call","params":{"name":"cards","arguments":{"order":1042}}}""",
        CallKind.Stream => """{"jsonrpc":"2.0","id":{{id}},"method":"tools/call","params":{"name":"stream","arguments":{},"_meta":{"progressToken":"load-progress"}}}""",
        CallKind.Deny => """{"jsonrpc":"2.0","id":{{id}},"method":"tools/call","params":{"name":"drop_database","arguments":{"name":"production"}}}""",
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };
}
