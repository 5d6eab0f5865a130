namespace FastMcp.BenchUpstream;

/// <summary>
/// Every answer the upstream gives, encoded once. Bodies splice in the request's id (and the
/// progress token for streamed calls) so that clients and gateways can match them.
/// </summary>
internal sealed class CannedResponses
{
    /// <summary>Test card numbers (Luhn-valid, issued for testing) that the "cards" tool returns.</summary>
    public const string CardsText =
        "Order 1042 paid with 4111 1111 1111 1111 (exp 12/29). Refund issued to 5500-0000-0000-0004; "
        + "backup card on file 378282246310005; legacy card 4012888888881881.";

    public BodyTemplate Initialize { get; } = BodyTemplate.Parse(
        """{"jsonrpc":"2.0","id":{{id}},"result":{"protocolVersion":"2025-11-25","capabilities":{"tools":{"listChanged":false},"logging":{}},"serverInfo":{"name":"fastmcp-bench-upstream","version":"1.0.0"},"instructions":"Canned answers for load tests."}}""");

    public BodyTemplate Ping { get; } = BodyTemplate.Parse("""{"jsonrpc":"2.0","id":{{id}},"result":{}}""");

    public BodyTemplate ToolsList { get; } = BodyTemplate.Parse(
        """{"jsonrpc":"2.0","id":{{id}},"result":{"tools":["""
        + """{"name":"echo","description":"Answers with a short text.","inputSchema":{"type":"object","properties":{"text":{"type":"string"}}}},"""
        + """{"name":"cards","description":"Answers with text that carries test card numbers.","inputSchema":{"type":"object","properties":{"order":{"type":"integer"}}}},"""
        + """{"name":"stream","description":"Streams progress notifications, then the result.","inputSchema":{"type":"object","properties":{}}},"""
        + """{"name":"drop_database","description":"A destructive tool that policies are expected to deny.","inputSchema":{"type":"object","properties":{"name":{"type":"string"}}}}"""
        + "]}}");

    public BodyTemplate Echo { get; } = BodyTemplate.Parse(
        """{"jsonrpc":"2.0","id":{{id}},"result":{"content":[{"type":"text","text":"echo: hello"}],"isError":false}}""");

    public BodyTemplate Cards { get; } = BodyTemplate.Parse(
        "{\"jsonrpc\":\"2.0\",\"id\":{{id}},\"result\":{\"content\":[{\"type\":\"text\",\"text\":\""
        + CardsText
        + "\"}],\"structuredContent\":" + """{"order":1042,"card":"4111111111111111","status":"paid"},"isError":false}}""");

    public BodyTemplate DropDatabase { get; } = BodyTemplate.Parse(
        """{"jsonrpc":"2.0","id":{{id}},"result":{"content":[{"type":"text","text":"database dropped"}],"isError":false}}""");

    public BodyTemplate UnknownTool { get; } = BodyTemplate.Parse(
        """{"jsonrpc":"2.0","id":{{id}},"error":{"code":-32602,"message":"Unknown tool"}}""");

    public BodyTemplate UnknownMethod { get; } = BodyTemplate.Parse(
        """{"jsonrpc":"2.0","id":{{id}},"error":{"code":-32601,"message":"Method not found"}}""");

    /// <summary>SSE "stream" tool with a progress token: progress events, then the result.</summary>
    public BodyTemplate[] StreamWithProgress { get; } =
    [
        BodyTemplate.Parse("""{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":{{progressToken}},"progress":1,"total":3,"message":"fetching"}}"""),
        BodyTemplate.Parse("""{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":{{progressToken}},"progress":2,"total":3,"message":"summarising"}}"""),
        BodyTemplate.Parse("""{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":{{progressToken}},"progress":3,"total":3,"message":"done"}}"""),
        BodyTemplate.Parse("""{"jsonrpc":"2.0","id":{{id}},"result":{"content":[{"type":"text","text":"streamed result after 3 steps"}],"isError":false}}"""),
    ];

    /// <summary>SSE "stream" tool without a progress token: log notifications instead (progress needs a token).</summary>
    public BodyTemplate[] StreamWithLogs { get; } =
    [
        BodyTemplate.Parse("""{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","logger":"stream","data":"step 1 of 3"}}"""),
        BodyTemplate.Parse("""{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","logger":"stream","data":"step 2 of 3"}}"""),
        BodyTemplate.Parse("""{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","logger":"stream","data":"step 3 of 3"}}"""),
        BodyTemplate.Parse("""{"jsonrpc":"2.0","id":{{id}},"result":{"content":[{"type":"text","text":"streamed result after 3 steps"}],"isError":false}}"""),
    ];
}
