namespace FastMcp.Mcp;

/// <summary>
/// Every JSON-RPC method named by MCP schemas 2025-11-25 and 2026-07-28, in either direction.
/// The server-to-client ones are here so that responses/SSE events can be classified too.
/// </summary>
public enum McpMethod : byte
{
    /// <summary>Not a method of either schema (or too long / not a string).</summary>
    Unknown,
    /// <summary><c>initialize</c>. Session-era handshake (2025-11-25 and earlier).</summary>
    Initialize,
    /// <summary><c>ping</c>. Liveness check (session era; either side may send it).</summary>
    Ping,
    /// <summary><c>tools/list</c></summary>
    ToolsList,
    /// <summary><c>tools/call</c></summary>
    ToolsCall,
    /// <summary><c>prompts/list</c></summary>
    PromptsList,
    /// <summary><c>prompts/get</c></summary>
    PromptsGet,
    /// <summary><c>resources/list</c></summary>
    ResourcesList,
    /// <summary><c>resources/templates/list</c></summary>
    ResourcesTemplatesList,
    /// <summary><c>resources/read</c></summary>
    ResourcesRead,
    /// <summary><c>resources/subscribe</c>. Session era; replaced by subscriptions/listen in 2026-07-28.</summary>
    ResourcesSubscribe,
    /// <summary><c>resources/unsubscribe</c>. Session era.</summary>
    ResourcesUnsubscribe,
    /// <summary><c>completion/complete</c></summary>
    CompletionComplete,
    /// <summary><c>logging/setLevel</c>. Session era; 2026-07-28 carries the level in _meta instead.</summary>
    LoggingSetLevel,
    /// <summary><c>server/discover</c>. 2026-07-28: mandatory capability discovery (replaces initialize).</summary>
    ServerDiscover,
    /// <summary><c>subscriptions/listen</c>. 2026-07-28: long-lived notification stream.</summary>
    SubscriptionsListen,
    /// <summary><c>notifications/initialized</c>. Session era.</summary>
    NotificationsInitialized,
    /// <summary><c>notifications/cancelled</c></summary>
    NotificationsCancelled,
    /// <summary><c>notifications/progress</c></summary>
    NotificationsProgress,
    /// <summary><c>notifications/roots/list_changed</c>. Session era, client to server.</summary>
    NotificationsRootsListChanged,
    /// <summary><c>tasks/get</c>. 2025-11-25 tasks (experimental).</summary>
    TasksGet,
    /// <summary><c>tasks/result</c>. 2025-11-25 tasks (experimental).</summary>
    TasksResult,
    /// <summary><c>tasks/cancel</c>. 2025-11-25 tasks (experimental).</summary>
    TasksCancel,
    /// <summary><c>tasks/list</c>. 2025-11-25 tasks (experimental).</summary>
    TasksList,
    /// <summary><c>notifications/tasks/status</c>. 2025-11-25 tasks (experimental).</summary>
    NotificationsTasksStatus,
    /// <summary><c>notifications/message</c>. Server to client: log message.</summary>
    NotificationsMessage,
    /// <summary><c>notifications/resources/updated</c>. Server to client.</summary>
    NotificationsResourcesUpdated,
    /// <summary><c>notifications/resources/list_changed</c>. Server to client.</summary>
    NotificationsResourcesListChanged,
    /// <summary><c>notifications/tools/list_changed</c>. Server to client.</summary>
    NotificationsToolsListChanged,
    /// <summary><c>notifications/prompts/list_changed</c>. Server to client.</summary>
    NotificationsPromptsListChanged,
    /// <summary><c>notifications/elicitation/complete</c>. Server to client (2025-11-25).</summary>
    NotificationsElicitationComplete,
    /// <summary><c>notifications/subscriptions/acknowledged</c>. Server to client (2026-07-28).</summary>
    NotificationsSubscriptionsAcknowledged,
    /// <summary><c>sampling/createMessage</c>. Server to client request (session era); 2026-07-28 carries it in InputRequiredResult.</summary>
    SamplingCreateMessage,
    /// <summary><c>roots/list</c>. Server to client request (session era).</summary>
    RootsList,
    /// <summary><c>elicitation/create</c>. Server to client request (session era).</summary>
    ElicitationCreate,
}
