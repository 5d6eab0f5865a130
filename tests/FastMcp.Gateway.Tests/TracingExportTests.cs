using System.Text;
using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests;

/// <summary>
/// Spans of the real gateway (identity, policy, strict audit) exported over OTLP/HTTP to a receiver in the test
/// that decodes them with Google.Protobuf: their structure and ids, the trace the client and the upstream share,
/// the attributes (and what must never be in them), sampling, and an absent, refusing or stuck receiver.
/// </summary>
public sealed class TracingExportTests
{
    private const string TraceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    private const string ClientSpan = "00f067aa0ba902b7";
    private const string Secret = "s3cr3t-argument-value";
    private const string Card = "4111111111111111";

    private static string ToolCall(int id, string tool = "lookup") => ToolCall(id.ToString(System.Globalization.CultureInfo.InvariantCulture), tool);

    private static string ToolCall(string idJson, string tool) =>
        "{\"jsonrpc\":\"2.0\",\"id\":" + idJson + ",\"method\":\"tools/call\",\"params\":{\"name\":\"" + tool + "\",\"arguments\":{\"q\":\"" + Secret + "\"}}}";

    private static Task<PolicyGateway> StartAsync(string otlpEndpoint, Action<TracingOptions>? tracing = null, List<RuleOptions>? rules = null) =>
        PolicyGateway.StartAsync(
            x => x.RespondJsonAsync("{\"jsonrpc\":\"2.0\",\"id\":" + x.Request.IdJson() + ",\"result\":{\"content\":[]}}"),
            rules ?? [new RuleOptions { Name = "lookups", Action = "allow" }],
            o =>
            {
                o.Tracing.OtlpEndpoint = otlpEndpoint;
                o.Tracing.ScheduleDelayMs = 50;
                tracing?.Invoke(o.Tracing);
            });

    [Fact]
    public async Task A_sampled_call_becomes_a_server_span_with_a_child_per_stage_in_the_callers_trace()
    {
        await using var receiver = new OtlpReceiver();
        await using PolicyGateway gw = await StartAsync(receiver.Url);
        string token = gw.Token("alice", "sre");

        RawResponse r = await gw.PostAsync(ToolCall(7), token, $"traceparent: 00-{TraceId}-{ClientSpan}-01\r\n");
        Assert.Equal(200, r.Status);

        List<ReceivedSpan> spans = await receiver.WaitForTraceAsync(TraceId, s => s.Count >= 4);
        Assert.Equal(4, spans.Count);
        ReceivedSpan server = Assert.Single(spans, s => s.Kind == 2);
        Assert.Equal("mcp tools/call", server.Name);
        Assert.Equal(ClientSpan, server.ParentSpanId);
        Assert.Equal("fastmcp", server.ServiceName);
        Assert.Equal(0x301u, server.Flags); // sampled, parent remote
        // The upstream received the server span as its parent: one trace from the client through the gateway to it.
        string forwarded = gw.Upstream.SingleRequest().Header("traceparent")!;
        Assert.Equal($"00-{TraceId}-{server.SpanId}-01", forwarded);

        Assert.Equal(["decide", "forward", "record"], spans.Where(s => s != server).Select(s => s.Name).Order().ToArray());
        foreach (ReceivedSpan child in spans.Where(s => s != server))
        {
            Assert.Equal(server.SpanId, child.ParentSpanId);
            Assert.NotEqual(server.SpanId, child.SpanId);
            Assert.Matches("^[0-9a-f]{16}$", child.SpanId);
            Assert.InRange(child.StartUnixNanos, server.StartUnixNanos, server.EndUnixNanos);
            Assert.InRange(child.EndUnixNanos, child.StartUnixNanos, server.EndUnixNanos);
        }
        ReceivedSpan decide = spans.Single(s => s.Name == "decide"), record = spans.Single(s => s.Name == "record"), forward = spans.Single(s => s.Name == "forward");
        Assert.Equal(3, forward.Kind); // client
        Assert.Equal(1, decide.Kind);
        Assert.True(decide.EndUnixNanos <= record.StartUnixNanos && record.EndUnixNanos <= forward.StartUnixNanos, "stages in order: decide, record, forward");
        Assert.Equal(200L, forward.Attributes["http.response.status_code"]);

        Assert.Equal("tools/call", server.Attributes["mcp.method.name"]);
        Assert.Equal("lookup", server.Attributes["gen_ai.tool.name"]);
        Assert.Equal("7", server.Attributes["rpc.jsonrpc.request_id"]);
        Assert.Equal("alice", server.Attributes["enduser.id"]);
        Assert.Equal("127.0.0.1", server.Attributes["client.address"]);
        Assert.Equal("allow", server.Attributes["fastmcp.decision"]);
        Assert.Equal("lookups", server.Attributes["fastmcp.rule"]);
        Assert.Equal(200L, server.Attributes["http.response.status_code"]);
        Assert.Equal(200L, server.Attributes["fastmcp.upstream.status_code"]);
        Assert.Equal(0, server.StatusCode);

        // Neither the token nor the arguments are anywhere in what was exported.
        string exported = string.Concat(receiver.Bodies.Select(b => Encoding.Latin1.GetString(b)));
        Assert.DoesNotContain(Secret, exported);
        Assert.DoesNotContain(token, exported);
        Assert.DoesNotContain(token.Split('.')[1], exported);
        Assert.Equal("application/x-protobuf", receiver.ContentTypes.First());

        string metrics = await AdminGet.TextAsync(gw.Gateway.AdminEndpoint, "/metrics");
        Assert.Contains("fastmcp_tracing_spans_exported_total 4\n", metrics);
        Assert.Contains("fastmcp_tracing_spans_dropped_total 0\n", metrics);
    }

    [Fact]
    public async Task A_denied_call_has_no_forward_or_record_span_and_a_card_in_the_tool_name_or_id_is_masked()
    {
        await using var receiver = new OtlpReceiver();
        await using PolicyGateway gw = await StartAsync(receiver.Url, rules: [new RuleOptions { Name = "no-tools", Action = "deny", Message = "no" }]);

        RawResponse r = await gw.PostAsync(ToolCall("\"req-" + Card + "\"", "pay-" + Card), gw.Token("bob"), $"traceparent: 00-{TraceId}-{ClientSpan}-01\r\n");
        Assert.Equal(200, r.Status);

        List<ReceivedSpan> spans = await receiver.WaitForTraceAsync(TraceId, s => s.Count >= 2);
        await Task.Delay(200);
        spans = [.. receiver.Spans.Where(s => s.TraceId == TraceId)];
        Assert.Equal(["decide", "mcp tools/call"], spans.Select(s => s.Name).Order().ToArray());
        ReceivedSpan server = spans.Single(s => s.Kind == 2);
        Assert.Equal("deny", server.Attributes["fastmcp.decision"]);
        Assert.Equal("no-tools", server.Attributes["fastmcp.rule"]);
        Assert.False(server.Attributes.ContainsKey("fastmcp.upstream.status_code"));
        string tool = (string)server.Attributes["gen_ai.tool.name"];
        Assert.StartsWith("pay-", tool);
        Assert.DoesNotContain(Card, tool);
        string id = (string)server.Attributes["rpc.jsonrpc.request_id"];
        Assert.StartsWith("req-", id);
        Assert.DoesNotContain(Card, id);
        Assert.DoesNotContain(Card, string.Concat(receiver.Bodies.Select(b => Encoding.Latin1.GetString(b))));
        Assert.Empty(gw.Upstream.Requests);
    }

    [Fact]
    public async Task A_held_call_has_a_hold_span_between_its_decision_and_its_forward()
    {
        await using var receiver = new OtlpReceiver();
        await using PolicyGateway gw = await StartAsync(receiver.Url,
            rules: [new RuleOptions { Name = "held", Action = "require_approval", Methods = ["tools/call"], Approvers = ["release"] }]);

        using RawClient client = await gw.Gateway.ConnectAsync();
        await client.SendAsync(gw.Gateway.Post(ToolCall(5), $"Authorization: Bearer {gw.Token("alice")}\r\ntraceparent: 00-{TraceId}-{ClientSpan}-01\r\n"));
        FastMcp.Gateway.Approvals.PendingApproval? pending = null;
        for (int i = 0; i < 300 && pending is null; i++)
        {
            pending = gw.Gateway.Stages.Approvals!.List(includeDecided: false).FirstOrDefault();
            if (pending is null) await Task.Delay(20);
        }
        Assert.NotNull(pending);
        await Task.Delay(100);
        using var http = new HttpClient();
        using var approve = new HttpRequestMessage(HttpMethod.Post, $"http://127.0.0.1:{gw.Gateway.AdminEndpoint.Port}/approvals/{pending!.Id}/approve")
        {
            Content = new StringContent("{}", Encoding.UTF8, "application/json"),
        };
        approve.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", gw.Token("bob", "release"));
        Assert.Equal(System.Net.HttpStatusCode.OK, (await http.SendAsync(approve)).StatusCode);

        List<ReceivedSpan> spans = await receiver.WaitForTraceAsync(TraceId, s => s.Count >= 5);
        Assert.Equal(["decide", "forward", "hold", "mcp tools/call", "record"], spans.Select(s => s.Name).Order().ToArray());
        ReceivedSpan server = spans.Single(s => s.Kind == 2), hold = spans.Single(s => s.Name == "hold");
        Assert.Equal(server.SpanId, hold.ParentSpanId);
        Assert.Equal("require_approval", server.Attributes["fastmcp.decision"]);
        // The approval came at least 100 ms after it was published, which is after the decision ended. (Measured from
        // the decision, not from the hold's start: a busy machine can delay the hold's first step past the test's wait.)
        ReceivedSpan decide = spans.Single(s => s.Name == "decide");
        Assert.True(hold.EndUnixNanos - decide.EndUnixNanos >= 100_000_000UL, "the hold lasted until the approval");
        Assert.True(decide.EndUnixNanos <= hold.StartUnixNanos);
        Assert.True(hold.EndUnixNanos <= spans.Single(s => s.Name == "forward").StartUnixNanos);
    }

    [Fact]
    public async Task An_unsampled_traceparent_produces_no_spans_and_stays_unsampled_upstream()
    {
        await using var receiver = new OtlpReceiver();
        await using PolicyGateway gw = await StartAsync(receiver.Url, t => t.SampleRatio = 1);
        string token = gw.Token("alice");

        const string unsampled = "0af7651916cd43dd8448eb211c80319c";
        Assert.Equal(200, (await gw.PostAsync(ToolCall(1), token, $"traceparent: 00-{unsampled}-{ClientSpan}-00\r\n")).Status);
        // A sampled call after it: once its spans arrived, the unsampled one's would have too.
        Assert.Equal(200, (await gw.PostAsync(ToolCall(2), token, $"traceparent: 00-{TraceId}-{ClientSpan}-01\r\n")).Status);
        await receiver.WaitForTraceAsync(TraceId, s => s.Count >= 4);

        Assert.DoesNotContain(receiver.Spans, s => s.TraceId == unsampled);
        Assert.EndsWith("-00", gw.Upstream.Requests.First().Header("traceparent"));
    }

    [Fact]
    public async Task With_sample_ratio_0_the_traces_the_gateway_starts_are_not_sampled()
    {
        await using var receiver = new OtlpReceiver();
        await using PolicyGateway gw = await StartAsync(receiver.Url, t => t.SampleRatio = 0);
        string token = gw.Token("alice");

        for (int i = 0; i < 5; i++) Assert.Equal(200, (await gw.PostAsync(ToolCall(i), token)).Status);
        Assert.Equal(200, (await gw.PostAsync(ToolCall(9), token, $"traceparent: 00-{TraceId}-{ClientSpan}-01\r\n")).Status);
        await receiver.WaitForTraceAsync(TraceId, s => s.Count >= 4);

        Assert.All(receiver.Spans, s => Assert.Equal(TraceId, s.TraceId));
        Assert.All(gw.Upstream.Requests.Take(5), u => Assert.EndsWith("-00", u.Header("traceparent")));
    }

    [Fact]
    public async Task With_sample_ratio_1_a_trace_the_gateway_starts_is_sampled_and_its_server_span_is_the_root()
    {
        await using var receiver = new OtlpReceiver();
        await using PolicyGateway gw = await StartAsync(receiver.Url, t => t.SampleRatio = 1);

        Assert.Equal(200, (await gw.PostAsync(ToolCall(1), gw.Token("alice"))).Status);
        string forwarded = gw.Upstream.SingleRequest().Header("traceparent")!;
        Assert.EndsWith("-01", forwarded);
        string trace = forwarded.Substring(3, 32);

        List<ReceivedSpan> spans = await receiver.WaitForTraceAsync(trace, s => s.Count >= 4);
        ReceivedSpan server = spans.Single(s => s.Kind == 2);
        Assert.Equal("", server.ParentSpanId);
        Assert.Equal(forwarded.Substring(36, 16), server.SpanId);
        Assert.Equal(0x101u, server.Flags); // sampled, parent (none) not remote
    }

    [Fact]
    public async Task A_receiver_answering_503_is_retried_and_takes_the_spans()
    {
        await using var receiver = new OtlpReceiver { Answer = n => n == 1 ? 503 : 200 };
        await using PolicyGateway gw = await StartAsync(receiver.Url);

        Assert.Equal(200, (await gw.PostAsync(ToolCall(1), gw.Token("alice"), $"traceparent: 00-{TraceId}-{ClientSpan}-01\r\n")).Status);
        await receiver.WaitForTraceAsync(TraceId, s => s.Count >= 4);

        byte[][] bodies = [.. receiver.Bodies];
        Assert.Equal(2, bodies.Length);
        Assert.Equal(bodies[0], bodies[1]); // the same batch again
        string metrics = await AdminGet.TextAsync(gw.Gateway.AdminEndpoint, "/metrics");
        Assert.Contains("fastmcp_tracing_spans_exported_total 4\n", metrics);
        Assert.Contains("fastmcp_tracing_spans_failed_total 0\n", metrics);
    }

    [Fact]
    public async Task Without_a_receiver_calls_are_unaffected_and_the_lost_spans_are_counted()
    {
        // A port nothing listens on: every export attempt is refused.
        var closed = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        closed.Start();
        int port = ((System.Net.IPEndPoint)closed.LocalEndpoint).Port;
        closed.Stop();
        await using PolicyGateway gw = await StartAsync($"http://127.0.0.1:{port}/v1/traces", t => { t.SampleRatio = 1; t.MaxQueueSize = 8; t.MaxExportBatchSize = 4; });
        string token = gw.Token("alice");

        for (int i = 0; i < 20; i++) Assert.Equal(200, (await gw.PostAsync(ToolCall(i), token)).Status);
        Assert.Equal(20, gw.Upstream.Requests.Count);

        // Every span is accounted for: 20 calls of 4 spans each, failed in exports or dropped on the full queue.
        long failed = 0, dropped = 0;
        for (int wait = 0; wait < 600 && failed + dropped < 80; wait++)
        {
            string metrics = await AdminGet.TextAsync(gw.Gateway.AdminEndpoint, "/metrics");
            failed = Metric(metrics, "fastmcp_tracing_spans_failed_total");
            dropped = Metric(metrics, "fastmcp_tracing_spans_dropped_total");
            Assert.Equal(0, Metric(metrics, "fastmcp_tracing_spans_exported_total"));
            if (failed + dropped < 80) await Task.Delay(50);
        }
        Assert.True(failed > 0, "failed exports counted");
        Assert.Equal(80, failed + dropped);
    }

    [Fact]
    public async Task A_stuck_receiver_fills_the_queue_and_new_spans_are_dropped_and_counted_while_calls_go_on()
    {
        // Accepts connections and never answers: the exporter waits for tracing.exportTimeoutMs per attempt.
        var stuck = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        stuck.Start();
        try
        {
            int port = ((System.Net.IPEndPoint)stuck.LocalEndpoint).Port;
            await using PolicyGateway gw = await StartAsync($"http://127.0.0.1:{port}/v1/traces",
                t => { t.SampleRatio = 1; t.MaxQueueSize = 12; t.MaxExportBatchSize = 4; t.ExportTimeoutMs = 30_000; });
            string token = gw.Token("alice");

                        for (int i = 0; i < 30; i++) Assert.Equal(200, (await gw.PostAsync(ToolCall(i), token)).Status);

            string metrics = await AdminGet.TextAsync(gw.Gateway.AdminEndpoint, "/metrics");
            // 120 spans: the exporter holds at most one batch (4) and the queue 12; the rest are dropped.
            Assert.True(Metric(metrics, "fastmcp_tracing_spans_dropped_total") >= 120 - 4 - 12, metrics);
            Assert.True(Metric(metrics, "fastmcp_tracing_queue_spans") <= 12);
            Assert.Equal(0, Metric(metrics, "fastmcp_tracing_spans_exported_total"));
            stuck.Stop(); // resets the waiting export, so the gateway's shutdown flush ends quickly
        }
        finally
        {
            stuck.Stop();
        }
    }

    private static long Metric(string metrics, string name)
    {
        foreach (string line in metrics.Split('\n'))
            if (line.StartsWith(name + " ", StringComparison.Ordinal)) return long.Parse(line[(name.Length + 1)..], System.Globalization.CultureInfo.InvariantCulture);
        throw new Xunit.Sdk.XunitException($"{name} not in /metrics");
    }
}
