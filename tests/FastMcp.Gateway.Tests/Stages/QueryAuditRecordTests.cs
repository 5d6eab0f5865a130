using System.Text;
using System.Text.Json;
using FastMcp.Gateway.Proxy;
using FastMcp.Gateway.Stages;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Http;
using FastMcp.Identity;
using FastMcp.Mcp;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// The request target's query reaches the upstream, so the audit record says what it was: component.query holds the text
/// after '?' as forwarded, card numbers masked whatever masking.requests forwards (payloads are recorded masked too).
/// Through the real gateway and its audit log.
/// </summary>
public sealed class QueryAuditRecordTests
{
    private const string Pan = "4111111111111111";

    private static string? RecordedQuery(string record)
    {
        using JsonDocument d = JsonDocument.Parse(record);
        return d.RootElement.TryGetProperty("component", out JsonElement c) && c.TryGetProperty("query", out JsonElement q) ? q.GetString() : null;
    }

    private static string Detail(string record)
    {
        using JsonDocument d = JsonDocument.Parse(record);
        return d.RootElement.TryGetProperty("detail", out JsonElement detail) ? detail.GetString() ?? "" : "";
    }

    [Theory]
    [InlineData("mask", "/mcp?account=411111******1111&tenant=eu")]
    [InlineData("forward", "/mcp?account=" + Pan + "&tenant=eu")]
    public async Task The_request_record_holds_the_query_masked_whatever_the_upstream_got(string requests, string forwarded)
    {
        await using CardGateway g = await CardGateway.StartAsync(masking: m => m.Requests = requests, upstreamScript: CardGateway.EmptyResult);
        RawResponse answer = await g.PostAsync(CardGateway.ToolCall("1", "echo", "{}"), path: $"/mcp?account={Pan}&tenant=eu");

        Assert.Equal(200, answer.Status);
        Assert.Equal(forwarded, g.Upstream.SingleRequest().Target);
        List<string> records = await g.StopAndReadAuditAsync();
        string request = Assert.Single(records, r => Detail(r) == "request");
        Assert.Equal("account=411111******1111&tenant=eu", RecordedQuery(request));
        Assert.Empty(AuditCards.FindCardNumbers(records));
    }

    [Fact]
    public async Task A_card_number_hidden_in_percent_escapes_is_recorded_masked_under_forward()
    {
        const string escaped = "%34%31%31%31%31%31%31%31%31%31%31%31%31%31%31%31";
        await using CardGateway g = await CardGateway.StartAsync(masking: m => m.Requests = "forward", upstreamScript: CardGateway.EmptyResult);
        await g.PostAsync(CardGateway.ToolCall("1", "echo", "{}"), path: "/mcp?a=" + escaped);

        Assert.Equal("/mcp?a=" + escaped, g.Upstream.SingleRequest().Target);
        List<string> records = await g.StopAndReadAuditAsync();
        string request = Assert.Single(records, r => Detail(r) == "request");
        Assert.Equal("a=%34%31%31%31%31%31%2A%2A%2A%2A%2A%2A%31%31%31%31", RecordedQuery(request));
    }

    [Fact]
    public async Task Without_a_query_no_record_has_the_member_and_an_empty_query_is_recorded_empty()
    {
        await using CardGateway g = await CardGateway.StartAsync(upstreamScript: CardGateway.EmptyResult);
        await g.PostAsync(CardGateway.ToolCall("1", "echo", "{}"));
        await g.PostAsync(CardGateway.ToolCall("2", "echo", "{}"), path: "/mcp?");

        List<string> records = await g.StopAndReadAuditAsync();
        List<string> exchange = [.. records.Where(r => r.Contains("\"method\":\"tools/call\""))];
        Assert.Equal(4, exchange.Count);
        Assert.All(exchange.Where(r => r.Contains("\"jsonrpcId\":1")), r => Assert.DoesNotContain("\"query\"", r));
        Assert.All(exchange.Where(r => r.Contains("\"jsonrpcId\":2")), r => Assert.Equal("", RecordedQuery(r)));
    }

    [Fact]
    public async Task A_denied_call_and_a_call_held_for_approval_record_the_query_they_came_with()
    {
        List<RuleOptions> rules =
        [
            new RuleOptions { Name = "no-drop", Action = "deny", Methods = ["tools/call"], Names = ["drop"] },
            new RuleOptions { Name = "deploy-needs-approval", Action = "require_approval", Methods = ["tools/call"], Names = ["deploy"], ApprovalMode = "grant" },
            new RuleOptions { Name = "rest", Action = "allow" },
        ];
        await using CardGateway g = await CardGateway.StartAsync(rules: rules, upstreamScript: CardGateway.EmptyResult);
        await g.PostAsync(CardGateway.ToolCall("1", "drop", "{}"), path: $"/mcp?tenant=prod&card={Pan}");
        await g.PostAsync(CardGateway.ToolCall("2", "deploy", "{}"), path: "/mcp?tenant=staging");

        Assert.Empty(g.Upstream.Requests);
        List<string> records = await g.StopAndReadAuditAsync();
        string denied = Assert.Single(records, r => r.Contains("\"type\":\"Denied\""));
        Assert.Equal("tenant=prod&card=411111******1111", RecordedQuery(denied));
        string held = Assert.Single(records, r => r.Contains("\"type\":\"ApprovalRequested\""));
        Assert.Equal("tenant=staging", RecordedQuery(held));
    }

    [Fact]
    public async Task Recording_a_query_with_a_card_number_allocates_nothing_per_record()
    {
        await using CardGateway g = await CardGateway.StartAsync(masking: m => m.Requests = "forward");
        AuditRecording audit = g.Gateway.Stages.Audit!;
        var request = new HttpRequestHead(new HttpLimits());
        Assert.Equal(HttpRejectReason.None, request.Parse(Encoding.ASCII.GetBytes($"POST /mcp?tenant=eu&account={Pan} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")));
        var exchange = new Exchange(request)
        {
            Principal = new Principal("alice", ["dev"], [], "client", "issuer", DateTimeOffset.MaxValue),
            ResponseStatus = 200,
        };
        using var scratch = new AuditRecording.Scratch();
        byte[] message = Encoding.UTF8.GetBytes("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{\"progressToken\":\"p1\",\"progress\":1}}");
        Assert.True(McpResponseInspector.TryInspect(new System.Buffers.ReadOnlySequence<byte>(message), out McpResponseView view));

        // Bursts of 100, each taken by the log's writer before the next, as StreamEventAllocationTests does.
        void Record(int records)
        {
            for (int i = 1; i <= records; i++)
            {
                audit.RecordStreamMessage(exchange, scratch, "127.0.0.1", message, view);
                if (i % 100 == 0)
                {
                    for (int wait = 0; wait < 10_000 && audit.Log.QueueDepth > 0; wait++) Thread.Sleep(1);
                }
            }
        }

        Record(2_000);
        long allocated = ThreadAllocations.Measure(() => Record(5_000));
        // One object per record would be 120,000 bytes or more; the log's pending batch grows now and then (amortized).
        Assert.True(allocated < 32 * 1024, $"{allocated} bytes allocated over 5,000 records carrying a masked query");
        List<string> records = await g.StopAndReadAuditAsync();
        Assert.Contains(records, r => RecordedQuery(r) == "tenant=eu&account=411111******1111");
        Assert.Empty(AuditCards.FindCardNumbers(records));
    }
}
