namespace FastMcp.Mcp;

/// <summary>Maps MCP method names (UTF-8, already unescaped) to <see cref="McpMethod"/> and back.</summary>
public static class McpMethods
{
    /// <summary>Longest method name we know; longer input is <see cref="McpMethod.Unknown"/> without comparing.</summary>
    public const int MaxNameLength = 40;

    /// <summary>Recognises a method name. Comparison is exact and case-sensitive, as JSON-RPC requires.</summary>
    public static McpMethod Parse(ReadOnlySpan<byte> utf8)
    {
        // Dispatch on length first so that at most a handful of candidates are compared.
        switch (utf8.Length)
        {
            case 4:
                if (utf8.SequenceEqual("ping"u8)) return McpMethod.Ping;
                break;
            case 9:
                if (utf8.SequenceEqual("tasks/get"u8)) return McpMethod.TasksGet;
                break;
            case 10:
                if (utf8.SequenceEqual("initialize"u8)) return McpMethod.Initialize;
                if (utf8.SequenceEqual("tools/list"u8)) return McpMethod.ToolsList;
                if (utf8.SequenceEqual("tools/call"u8)) return McpMethod.ToolsCall;
                if (utf8.SequenceEqual("tasks/list"u8)) return McpMethod.TasksList;
                if (utf8.SequenceEqual("roots/list"u8)) return McpMethod.RootsList;
                break;
            case 11:
                if (utf8.SequenceEqual("prompts/get"u8)) return McpMethod.PromptsGet;
                break;
            case 12:
                if (utf8.SequenceEqual("prompts/list"u8)) return McpMethod.PromptsList;
                if (utf8.SequenceEqual("tasks/result"u8)) return McpMethod.TasksResult;
                if (utf8.SequenceEqual("tasks/cancel"u8)) return McpMethod.TasksCancel;
                break;
            case 14:
                if (utf8.SequenceEqual("resources/list"u8)) return McpMethod.ResourcesList;
                if (utf8.SequenceEqual("resources/read"u8)) return McpMethod.ResourcesRead;
                break;
            case 15:
                if (utf8.SequenceEqual("server/discover"u8)) return McpMethod.ServerDiscover;
                break;
            case 16:
                if (utf8.SequenceEqual("logging/setLevel"u8)) return McpMethod.LoggingSetLevel;
                break;
            case 18:
                if (utf8.SequenceEqual("elicitation/create"u8)) return McpMethod.ElicitationCreate;
                break;
            case 19:
                if (utf8.SequenceEqual("resources/subscribe"u8)) return McpMethod.ResourcesSubscribe;
                if (utf8.SequenceEqual("completion/complete"u8)) return McpMethod.CompletionComplete;
                break;
            case 20:
                if (utf8.SequenceEqual("subscriptions/listen"u8)) return McpMethod.SubscriptionsListen;
                break;
            case 21:
                if (utf8.SequenceEqual("resources/unsubscribe"u8)) return McpMethod.ResourcesUnsubscribe;
                if (utf8.SequenceEqual("notifications/message"u8)) return McpMethod.NotificationsMessage;
                break;
            case 22:
                if (utf8.SequenceEqual("notifications/progress"u8)) return McpMethod.NotificationsProgress;
                if (utf8.SequenceEqual("sampling/createMessage"u8)) return McpMethod.SamplingCreateMessage;
                break;
            case 23:
                if (utf8.SequenceEqual("notifications/cancelled"u8)) return McpMethod.NotificationsCancelled;
                break;
            case 24:
                if (utf8.SequenceEqual("resources/templates/list"u8)) return McpMethod.ResourcesTemplatesList;
                break;
            case 25:
                if (utf8.SequenceEqual("notifications/initialized"u8)) return McpMethod.NotificationsInitialized;
                break;
            case 26:
                if (utf8.SequenceEqual("notifications/tasks/status"u8)) return McpMethod.NotificationsTasksStatus;
                break;
            case 31:
                if (utf8.SequenceEqual("notifications/resources/updated"u8)) return McpMethod.NotificationsResourcesUpdated;
                break;
            case 32:
                if (utf8.SequenceEqual("notifications/roots/list_changed"u8)) return McpMethod.NotificationsRootsListChanged;
                if (utf8.SequenceEqual("notifications/tools/list_changed"u8)) return McpMethod.NotificationsToolsListChanged;
                break;
            case 34:
                if (utf8.SequenceEqual("notifications/prompts/list_changed"u8)) return McpMethod.NotificationsPromptsListChanged;
                if (utf8.SequenceEqual("notifications/elicitation/complete"u8)) return McpMethod.NotificationsElicitationComplete;
                break;
            case 36:
                if (utf8.SequenceEqual("notifications/resources/list_changed"u8)) return McpMethod.NotificationsResourcesListChanged;
                break;
            case 40:
                if (utf8.SequenceEqual("notifications/subscriptions/acknowledged"u8)) return McpMethod.NotificationsSubscriptionsAcknowledged;
                break;
        }
        return McpMethod.Unknown;
    }

    /// <summary>The wire name of a method (a cached literal, never allocated); "" for Unknown.</summary>
    public static string Name(McpMethod method) => method switch
    {
        McpMethod.Initialize => "initialize",
        McpMethod.Ping => "ping",
        McpMethod.ToolsList => "tools/list",
        McpMethod.ToolsCall => "tools/call",
        McpMethod.PromptsList => "prompts/list",
        McpMethod.PromptsGet => "prompts/get",
        McpMethod.ResourcesList => "resources/list",
        McpMethod.ResourcesTemplatesList => "resources/templates/list",
        McpMethod.ResourcesRead => "resources/read",
        McpMethod.ResourcesSubscribe => "resources/subscribe",
        McpMethod.ResourcesUnsubscribe => "resources/unsubscribe",
        McpMethod.CompletionComplete => "completion/complete",
        McpMethod.LoggingSetLevel => "logging/setLevel",
        McpMethod.ServerDiscover => "server/discover",
        McpMethod.SubscriptionsListen => "subscriptions/listen",
        McpMethod.NotificationsInitialized => "notifications/initialized",
        McpMethod.NotificationsCancelled => "notifications/cancelled",
        McpMethod.NotificationsProgress => "notifications/progress",
        McpMethod.NotificationsRootsListChanged => "notifications/roots/list_changed",
        McpMethod.TasksGet => "tasks/get",
        McpMethod.TasksResult => "tasks/result",
        McpMethod.TasksCancel => "tasks/cancel",
        McpMethod.TasksList => "tasks/list",
        McpMethod.NotificationsTasksStatus => "notifications/tasks/status",
        McpMethod.NotificationsMessage => "notifications/message",
        McpMethod.NotificationsResourcesUpdated => "notifications/resources/updated",
        McpMethod.NotificationsResourcesListChanged => "notifications/resources/list_changed",
        McpMethod.NotificationsToolsListChanged => "notifications/tools/list_changed",
        McpMethod.NotificationsPromptsListChanged => "notifications/prompts/list_changed",
        McpMethod.NotificationsElicitationComplete => "notifications/elicitation/complete",
        McpMethod.NotificationsSubscriptionsAcknowledged => "notifications/subscriptions/acknowledged",
        McpMethod.SamplingCreateMessage => "sampling/createMessage",
        McpMethod.RootsList => "roots/list",
        McpMethod.ElicitationCreate => "elicitation/create",
        _ => "",
    };

    /// <summary>The wire name as UTF-8 bytes (static data); empty for Unknown.</summary>
    public static ReadOnlySpan<byte> NameUtf8(McpMethod method) => method switch
    {
        McpMethod.Initialize => "initialize"u8,
        McpMethod.Ping => "ping"u8,
        McpMethod.ToolsList => "tools/list"u8,
        McpMethod.ToolsCall => "tools/call"u8,
        McpMethod.PromptsList => "prompts/list"u8,
        McpMethod.PromptsGet => "prompts/get"u8,
        McpMethod.ResourcesList => "resources/list"u8,
        McpMethod.ResourcesTemplatesList => "resources/templates/list"u8,
        McpMethod.ResourcesRead => "resources/read"u8,
        McpMethod.ResourcesSubscribe => "resources/subscribe"u8,
        McpMethod.ResourcesUnsubscribe => "resources/unsubscribe"u8,
        McpMethod.CompletionComplete => "completion/complete"u8,
        McpMethod.LoggingSetLevel => "logging/setLevel"u8,
        McpMethod.ServerDiscover => "server/discover"u8,
        McpMethod.SubscriptionsListen => "subscriptions/listen"u8,
        McpMethod.NotificationsInitialized => "notifications/initialized"u8,
        McpMethod.NotificationsCancelled => "notifications/cancelled"u8,
        McpMethod.NotificationsProgress => "notifications/progress"u8,
        McpMethod.NotificationsRootsListChanged => "notifications/roots/list_changed"u8,
        McpMethod.TasksGet => "tasks/get"u8,
        McpMethod.TasksResult => "tasks/result"u8,
        McpMethod.TasksCancel => "tasks/cancel"u8,
        McpMethod.TasksList => "tasks/list"u8,
        McpMethod.NotificationsTasksStatus => "notifications/tasks/status"u8,
        McpMethod.NotificationsMessage => "notifications/message"u8,
        McpMethod.NotificationsResourcesUpdated => "notifications/resources/updated"u8,
        McpMethod.NotificationsResourcesListChanged => "notifications/resources/list_changed"u8,
        McpMethod.NotificationsToolsListChanged => "notifications/tools/list_changed"u8,
        McpMethod.NotificationsPromptsListChanged => "notifications/prompts/list_changed"u8,
        McpMethod.NotificationsElicitationComplete => "notifications/elicitation/complete"u8,
        McpMethod.NotificationsSubscriptionsAcknowledged => "notifications/subscriptions/acknowledged"u8,
        McpMethod.SamplingCreateMessage => "sampling/createMessage"u8,
        McpMethod.RootsList => "roots/list"u8,
        McpMethod.ElicitationCreate => "elicitation/create"u8,
        _ => default,
    };

    /// <summary>True for the list methods whose results <see cref="ListResultFilter"/> can filter.</summary>
    public static bool IsFilterableList(McpMethod method) =>
        method is McpMethod.ToolsList or McpMethod.PromptsList or McpMethod.ResourcesList or McpMethod.ResourcesTemplatesList;

    /// <summary>True when <c>params.name</c> (tools/call, prompts/get) names the target of the call.</summary>
    public static bool TargetsByName(McpMethod method) => method is McpMethod.ToolsCall or McpMethod.PromptsGet;

    /// <summary>True when <c>params.uri</c> names the target (resources/read, resources/subscribe, resources/unsubscribe).</summary>
    public static bool TargetsByUri(McpMethod method) =>
        method is McpMethod.ResourcesRead or McpMethod.ResourcesSubscribe or McpMethod.ResourcesUnsubscribe;

    /// <summary>Methods whose <c>Mcp-Name</c> header is required by the 2026-07-28 Streamable HTTP transport.</summary>
    public static bool RequiresNameHeader(McpMethod method) =>
        method is McpMethod.ToolsCall or McpMethod.PromptsGet or McpMethod.ResourcesRead;
}
