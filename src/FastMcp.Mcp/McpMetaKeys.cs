namespace FastMcp.Mcp;

/// <summary>Reserved <c>_meta</c> keys of MCP 2026-07-28 that the gateway reads (UTF-8, static data).</summary>
public static class McpMetaKeys
{
    /// <summary>Per-request protocol version; must equal the MCP-Protocol-Version header.</summary>
    public static ReadOnlySpan<byte> ProtocolVersion => "io.modelcontextprotocol/protocolVersion"u8;
    /// <summary>Self-reported client software (name, version): for logs and audit, never for decisions.</summary>
    public static ReadOnlySpan<byte> ClientInfo => "io.modelcontextprotocol/clientInfo"u8;
    /// <summary>Per-request client capabilities.</summary>
    public static ReadOnlySpan<byte> ClientCapabilities => "io.modelcontextprotocol/clientCapabilities"u8;
    /// <summary>Per-request log level (deprecated in 2026-07-28 but still carried).</summary>
    public static ReadOnlySpan<byte> LogLevel => "io.modelcontextprotocol/logLevel"u8;
    /// <summary>On notifications delivered over a subscriptions/listen stream: the id of that request.</summary>
    public static ReadOnlySpan<byte> SubscriptionId => "io.modelcontextprotocol/subscriptionId"u8;
}
