namespace FastMcp.Mcp;

/// <summary>
/// The member names the readers of this library read, per object, already folded (<see cref="MemberNameFold"/>):
/// a member that is none of them exactly but folds to one is one of them to a case-insensitive decoder (Go's
/// encoding/json), and the reader would not have read it (<see cref="MemberNameVariant"/>).
/// </summary>
internal static class FoldedMemberNames
{
    /// <summary>A JSON-RPC message's own members, in either direction.</summary>
    public static readonly byte[][] Envelope =
        ["jsonrpc"u8.ToArray(), "method"u8.ToArray(), "id"u8.ToArray(), "params"u8.ToArray(), "result"u8.ToArray(), "error"u8.ToArray()];

    /// <summary>A request's <c>params</c>.</summary>
    public static readonly byte[][] RequestParams =
        ["name"u8.ToArray(), "arguments"u8.ToArray(), "_meta"u8.ToArray(), "uri"u8.ToArray(), "clientinfo"u8.ToArray(), "protocolversion"u8.ToArray(), "ref"u8.ToArray(),
         "taskid"u8.ToArray(), "requestid"u8.ToArray()];

    /// <summary>A completion's <c>params.ref</c>.</summary>
    public static readonly byte[][] CompletionReference = ["type"u8.ToArray(), "name"u8.ToArray(), "uri"u8.ToArray()];

    /// <summary>A request's <c>params._meta</c>.</summary>
    public static readonly byte[][] RequestMeta =
        ["progresstoken"u8.ToArray(), "io.modelcontextprotocol/protocolversion"u8.ToArray(), "io.modelcontextprotocol/clientinfo"u8.ToArray()];

    /// <summary>An Implementation object (clientInfo, serverInfo).</summary>
    public static readonly byte[][] Implementation = ["name"u8.ToArray(), "version"u8.ToArray()];

    /// <summary>An upstream answer's <c>result</c>.</summary>
    public static readonly byte[][] Result =
        ["protocolversion"u8.ToArray(), "resulttype"u8.ToArray(), "serverinfo"u8.ToArray(), "_meta"u8.ToArray()];

    /// <summary>An upstream answer's <c>result._meta</c>.</summary>
    public static readonly byte[][] ResultMeta = ["io.modelcontextprotocol/serverinfo"u8.ToArray()];

    /// <summary>An error response's <c>error</c>.</summary>
    public static readonly byte[][] Error = ["code"u8.ToArray(), "message"u8.ToArray()];

    /// <summary>The <c>params</c> of an upstream's request or notification.</summary>
    public static readonly byte[][] ServerParams = ["progresstoken"u8.ToArray()];

    /// <summary>Every list member a result can hold (tools, prompts, resources, resourceTemplates).</summary>
    public static readonly byte[][] ListArrays =
        ["tools"u8.ToArray(), "prompts"u8.ToArray(), "resources"u8.ToArray(), "resourcetemplates"u8.ToArray()];

    private static readonly byte[][] Tools = ["tools"u8.ToArray()], Prompts = ["prompts"u8.ToArray()],
        Resources = ["resources"u8.ToArray()], ResourceTemplates = ["resourcetemplates"u8.ToArray()], Tasks = ["tasks"u8.ToArray()];
    private static readonly byte[][] Name = ["name"u8.ToArray()], Uri = ["uri"u8.ToArray()], UriTemplate = ["uritemplate"u8.ToArray()],
        TaskId = ["taskid"u8.ToArray()];

    /// <summary>The list member of one list method's result (empty for other methods).</summary>
    public static byte[][] ListArray(McpMethod listMethod) => listMethod switch
    {
        McpMethod.ToolsList => Tools,
        McpMethod.PromptsList => Prompts,
        McpMethod.ResourcesList => Resources,
        McpMethod.ResourcesTemplatesList => ResourceTemplates,
        McpMethod.TasksList => Tasks,
        _ => [],
    };

    /// <summary>The member that identifies an entry of one list method's result (empty for other methods).</summary>
    public static byte[][] ListEntryKey(McpMethod listMethod) => listMethod switch
    {
        McpMethod.ToolsList or McpMethod.PromptsList => Name,
        McpMethod.ResourcesList => Uri,
        McpMethod.ResourcesTemplatesList => UriTemplate,
        McpMethod.TasksList => TaskId,
        _ => [],
    };
}
