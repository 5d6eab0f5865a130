namespace FastMcp.Mcp;

/// <summary>
/// A view of one JSON-RPC message: positions into the body, never a copy. Ranges are byte offsets from the
/// start of the body; an empty range (0..0) means "absent". String ranges cover the raw token including its
/// quotes and any escapes: use <see cref="McpInspector.CopyUnescaped(in System.Buffers.ReadOnlySequence{byte}, Range, Span{byte})"/>
/// to get the text.
/// </summary>
public struct McpCall
{
    /// <summary>Request, notification, response, error response or batch.</summary>
    public McpMessageKind Kind;
    /// <summary>The method, recognised after unescaping; <see cref="McpMethod.Unknown"/> for methods outside the schemas.</summary>
    public McpMethod Method;
    /// <summary>Raw string token of <c>method</c>.</summary>
    public Range MethodRange;
    /// <summary>Raw JSON token of <c>id</c> (string with quotes, or number); empty for notifications.</summary>
    public Range IdRange;
    /// <summary><c>params.name</c> (tools/call, prompts/get), <c>params.uri</c> (resources/read, subscribe, unsubscribe) or <c>params.ref</c>'s name or uri (completion/complete): raw string token.</summary>
    public Range NameRange;
    /// <summary>Raw JSON of <c>params.arguments</c> (an object); empty when absent.</summary>
    public Range ArgumentsRange;
    /// <summary><c>params._meta["io.modelcontextprotocol/protocolVersion"]</c> raw string token (2026-07-28 requests).</summary>
    public Range ProtocolVersionMetaRange;
    /// <summary><c>params.protocolVersion</c> of an initialize request (session era), raw string token.</summary>
    public Range InitializeProtocolVersionRange;
    /// <summary><c>name</c> of initialize <c>params.clientInfo</c> or of <c>_meta["io.modelcontextprotocol/clientInfo"]</c>.</summary>
    public Range ClientInfoNameRange;
    /// <summary><c>version</c> of the same clientInfo object.</summary>
    public Range ClientInfoVersionRange;
    /// <summary><c>params._meta.progressToken</c> raw token (string or number).</summary>
    public Range ProgressTokenRange;
    /// <summary><c>params.taskId</c> raw string token (tasks/get, tasks/result, tasks/cancel, tasks/update and any other <c>tasks/</c> method); empty when absent.</summary>
    public Range TaskIdRange;
    /// <summary><c>params.requestId</c> of a notifications/cancelled: the raw token (string with quotes, or number) of the request it cancels.</summary>
    public Range CancelledIdRange;
    /// <summary>The method is <c>tasks/</c>-something (known or not): it acts on a task the caller must own.</summary>
    public bool IsTasksMethod;
    /// <summary>True when the name/uri token contains JSON escapes: decode before comparing.</summary>
    public bool NameHasEscapes;
    /// <summary>True when the method token contains JSON escapes (<see cref="Method"/> is still correct: it was decoded).</summary>
    public bool MethodHasEscapes;

    /// <summary>True when the message carries an id.</summary>
    public readonly bool HasId => !IsEmpty(IdRange);
    /// <summary>True when the message names a tool, prompt or resource.</summary>
    public readonly bool HasName => !IsEmpty(NameRange);
    /// <summary>True when the message has <c>params.arguments</c>.</summary>
    public readonly bool HasArguments => !IsEmpty(ArgumentsRange);
    /// <summary>True when the body carries the 2026-07-28 per-request protocol version in <c>_meta</c>.</summary>
    public readonly bool HasProtocolVersionMeta => !IsEmpty(ProtocolVersionMetaRange);

    /// <summary>True when the message names a task by <c>params.taskId</c>.</summary>
    public readonly bool HasTaskId => !IsEmpty(TaskIdRange);

    /// <summary>True for the 0..0 "absent" range (every present token is at least one byte long).</summary>
    public static bool IsEmpty(Range range) => range.End.Value == range.Start.Value;
}
