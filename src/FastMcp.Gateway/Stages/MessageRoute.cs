using FastMcp.Mcp;

namespace FastMcp.Gateway.Stages;

/// <summary>What the data path does with an inspected client message, by its kind (docs/architecture.md).</summary>
internal enum MessageRoute : byte
{
    /// <summary>No route: refused (400). What a kind added without a decision gets, so it fails closed.</summary>
    Refuse,
    /// <summary>Requests and notifications: the policy decides, then hold, record, forward.</summary>
    Decide,
    /// <summary>A client's answer to a server-sent request (sampling, elicitation, roots): recorded and forwarded, not decided.</summary>
    AnswerToServer,
    /// <summary>A JSON-RPC batch: every member routed and decided on its own (ClientConnection.Batch.cs).</summary>
    Batch,
}

internal static class MessageRouting
{
    /// <summary>
    /// The route of each message kind. Every kind is listed; anything else is refused, never skipped, and
    /// MessageRoutingTests fails for a kind that has no route here.
    /// </summary>
    public static MessageRoute For(McpMessageKind kind) => kind switch
    {
        McpMessageKind.Request => MessageRoute.Decide,
        McpMessageKind.Notification => MessageRoute.Decide,
        McpMessageKind.Response => MessageRoute.AnswerToServer,
        McpMessageKind.ErrorResponse => MessageRoute.AnswerToServer,
        McpMessageKind.Batch => MessageRoute.Batch,
        _ => MessageRoute.Refuse,
    };
}
