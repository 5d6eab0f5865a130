namespace FastMcp.Mcp;

/// <summary>What a JSON-RPC message is, decided by which members it carries.</summary>
public enum McpMessageKind : byte
{
    /// <summary>Has <c>method</c> and <c>id</c>: expects a response.</summary>
    Request,
    /// <summary>Has <c>method</c>, no <c>id</c>.</summary>
    Notification,
    /// <summary>Has <c>result</c> and <c>id</c>, no <c>method</c>.</summary>
    Response,
    /// <summary>Has <c>error</c> and <c>id</c> (which may be null), no <c>method</c>.</summary>
    ErrorResponse,
    /// <summary>A top-level JSON array (JSON-RPC batch; MCP 2025-03-26 only). Its members are not viewed.</summary>
    Batch,
}
