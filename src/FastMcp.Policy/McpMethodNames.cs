namespace FastMcp.Policy;

/// <summary>MCP request methods the matcher indexes up front, so glob rules ("tools/*") are resolved at compile time for them.</summary>
internal static class McpMethodNames
{
    public static readonly string[] Known =
    [
        "initialize", "ping", "server/discover", "subscriptions/listen",
        "tools/list", "tools/call",
        "prompts/list", "prompts/get",
        "resources/list", "resources/templates/list", "resources/read", "resources/subscribe", "resources/unsubscribe",
        "completion/complete", "logging/setLevel",
        "tasks/get", "tasks/list", "tasks/result", "tasks/cancel",
    ];
}
