using FastMcp.Gateway.Hosting;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests;

/// <summary>The access log: a line per exchange through the real gateway, card numbers masked, never blocking the data path.</summary>
[Collection(LogOutputCollection.Name)]
public sealed class AccessLogTests
{
    private const string TraceId = "4bf92f3577b34da6a3ce929d0e0e4736";

    /// <summary>A writer that keeps lines (thread-safe) for the test to wait on.</summary>
    private sealed class Lines : StringWriter
    {
        public string Text { get { lock (this) return ToString(); } }
    }

    private static async Task<string> WaitForLineAsync(Lines lines, string needle)
    {
        for (int i = 0; i < 200; i++)
        {
            foreach (string line in lines.Text.Split('\n'))
                if (line.Contains(needle, StringComparison.Ordinal)) return line;
            await Task.Delay(25);
        }
        throw new Xunit.Sdk.XunitException($"no access-log line with '{needle}' in:\n{lines.Text}");
    }

    [Fact]
    public async Task Each_exchange_gets_a_line_with_trace_subject_tool_decision_and_status_and_no_card_number()
    {
        var lines = new Lines();
        using var accessLog = new AccessLog(output: lines);
        AccessLog.Current = accessLog;
        try
        {
            await using PolicyGateway gw = await PolicyGateway.StartAsync(
                x => x.RespondJsonAsync("{\"jsonrpc\":\"2.0\",\"id\":" + x.Request.IdJson() + ",\"result\":{}}"),
                [new RuleOptions { Name = "payments", Action = "allow", Methods = ["tools/call"], Names = ["access_pay"] }]);
            string token = gw.Token("access-alice");
            string call = """{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"access_pay","arguments":{"card":"4111111111111111"}}}""";
            RawResponse allowed = await gw.PostAsync(call, token, $"traceparent: 00-{TraceId}-00f067aa0ba902b7-01\r\n");
            Assert.Equal(200, allowed.Status);
            string line = await WaitForLineAsync(lines, "tool=access_pay");
            Assert.Contains($"trace_id={TraceId}", line, StringComparison.Ordinal);
            Assert.Contains("subject=access-alice", line, StringComparison.Ordinal);
            Assert.Contains("client=127.0.0.1", line, StringComparison.Ordinal);
            Assert.Contains("method=tools/call", line, StringComparison.Ordinal);
            Assert.Contains("decision=Allow rule=payments status=200 upstream_status=200", line, StringComparison.Ordinal);
            Assert.Matches(@"duration_us=\d+ request_bytes=[1-9]\d* response_bytes=[1-9]\d*", line);

            string denied = """{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"access_4111111111111111","arguments":{}}}""";
            await gw.PostAsync(denied, token);
            string deniedLine = await WaitForLineAsync(lines, "decision=Deny");
            // No traceparent: the trace the gateway started (the one the upstream would have received).
            Assert.Matches("trace_id=[0-9a-f]{32} ", deniedLine);
            Assert.DoesNotContain(TraceId, deniedLine, StringComparison.Ordinal);
            Assert.DoesNotContain("4111111111111111", lines.Text, StringComparison.Ordinal);
        }
        finally
        {
            AccessLog.Current = null;
        }
    }

    /// <summary>
    /// A caller names a tool with a line break and a forged line, terminal escapes and C1 controls: the text line
    /// writes each as an escape inside the quoted value, the JSON line stays one object holding the name exactly.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_hostile_tool_name_cannot_start_a_line_or_send_a_terminal_escape(bool json)
    {
        var lines = new Lines();
        using var accessLog = new AccessLog(output: lines);
        AccessLog.Current = accessLog;
        Log.Apply(new Configuration.LogOptions { Format = json ? "json" : "text" });
        try
        {
            await using PolicyGateway gw = await PolicyGateway.StartAsync(
                x => x.RespondJsonAsync("{\"jsonrpc\":\"2.0\",\"id\":" + x.Request.IdJson() + ",\"result\":{}}"),
                [new RuleOptions { Name = "all", Action = "allow", Methods = ["*"] }]);
            string call = "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"tools/call\",\"params\":{\"name\":" + HostileText.Json + ",\"arguments\":{}}}";
            await gw.PostAsync(call, gw.Token("access-hostile"));
            string line = await WaitForLineAsync(lines, "access-hostile");
            HostileText.AssertPrintable(lines.Text);
            if (json)
            {
                using System.Text.Json.JsonDocument doc = System.Text.Json.JsonDocument.Parse(line);
                Assert.Equal(HostileText.Raw, doc.RootElement.GetProperty("tool").GetString());
            }
            else
            {
                Assert.Contains(" tool=\"" + HostileText.Escaped + "\" decision=", line, StringComparison.Ordinal);
            }
        }
        finally
        {
            AccessLog.Current = null;
            Log.Apply(new Configuration.LogOptions());
        }
    }

    /// <summary>A writer stuck until released: the ring fills and further entries are dropped and counted, not waited for.</summary>
    private sealed class StuckWriter : StringWriter
    {
        public readonly ManualResetEventSlim Release = new();
        public override void WriteLine(string? value)
        {
            Release.Wait();
            base.WriteLine(value);
        }
    }

    [Fact]
    public void A_full_ring_drops_and_counts_instead_of_blocking()
    {
        var stuck = new StuckWriter();
        var accessLog = new AccessLog(capacity: 4, output: stuck);
        try
        {
            long before = AccessLog.Dropped;
            var entry = new AccessLogEntry { Subject = "s", Method = "tools/call" };
            int accepted = 0;
            for (int i = 0; i < 20; i++)
                if (accessLog.TryEnqueue(entry)) accepted++;
            // Four in the ring plus at most one batch the writer took before it got stuck.
            Assert.InRange(accepted, 4, 4 + 256);
            Assert.Equal(20 - accepted, AccessLog.Dropped - before);
        }
        finally
        {
            stuck.Release.Set();
            accessLog.Dispose();
        }
    }

    [Fact]
    public void Enqueueing_allocates_nothing()
    {
        var stuck = new StuckWriter();
        var accessLog = new AccessLog(capacity: 30_000, output: stuck);
        try
        {
            var entry = new AccessLogEntry { Subject = "s", Client = "127.0.0.1", Method = "tools/call", Tool = "t", Decision = "Allow", Rule = "r", Status = 200 };
            // Warm-up: JIT and the lock's one-time contention state with the writer thread.
            for (int i = 0; i < 10_000; i++) accessLog.TryEnqueue(entry);
            bool parsed = true;
            long allocated = ThreadAllocations.Measure(() =>
            {
                for (int i = 0; i < 10_000; i++)
                {
                    accessLog.TryEnqueue(entry);
                    parsed &= FastMcp.Gateway.Tracing.TraceContext.TryParse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"u8, out _, out _, out _, out _);
                }
            });
            Assert.True(parsed);
            Assert.Equal(0, allocated);
        }
        finally
        {
            stuck.Release.Set();
            accessLog.Dispose();
        }
    }

    [Theory]
    [InlineData("00-00000000000000000000000000000000-00f067aa0ba902b7-01")]
    [InlineData("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01")]
    [InlineData("00-4bf92f3577b34da6a3ce929d0e0e47-00f067aa0ba902b7-01")]
    [InlineData("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01")]
    [InlineData("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")]
    [InlineData("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra")]
    [InlineData("00-4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7-01")]
    [InlineData("garbage")]
    public void An_invalid_traceparent_gives_no_trace_id(string value) =>
        Assert.False(FastMcp.Gateway.Tracing.TraceContext.TryParse(System.Text.Encoding.ASCII.GetBytes(value), out _, out _, out _, out _));

    [Fact]
    public void The_json_line_has_every_documented_field()
    {
        var e = new AccessLogEntry { UnixMicroseconds = 1_764_000_000_123_456, HasTrace = true, TraceHigh = 0x4bf92f3577b34da6, TraceLow = 0xa3ce929d0e0e4736, Subject = "a b", Status = 200 };
        using var doc = System.Text.Json.JsonDocument.Parse(AccessLog.Format(e, json: true));
        foreach (string field in new[] { "time", "trace_id", "subject", "client", "method", "tool", "decision", "rule", "status", "upstream_status", "duration_us", "request_bytes", "response_bytes" })
            Assert.True(doc.RootElement.TryGetProperty(field, out _), field);
        Assert.Equal(TraceId, doc.RootElement.GetProperty("trace_id").GetString());
        Assert.Equal("2025-11-24T16:00:00.123456Z", doc.RootElement.GetProperty("time").GetString());
        Assert.Contains("subject=\"a b\"", AccessLog.Format(e, json: false), StringComparison.Ordinal);
    }
}
