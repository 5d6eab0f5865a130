using System.Buffers;
using System.Text;
using FastMcp.Gateway.Proxy;
using FastMcp.Http;
using FastMcp.Identity;
using FastMcp.Mcp;
using FastMcp.Policy;

namespace FastMcp.Gateway.Admin;

/// <summary>
/// Per-exchange metrics with bounded labels, all preallocated: requests by method × decision × status class, tool
/// calls by tool (names from metrics.tools, else "other") × decision, authentication failures by reason, and the
/// latency histograms. Counting is an interlocked add into a fixed array: nothing is allocated per request.
/// </summary>
internal sealed class ExchangeMetrics
{
    // Methods: every McpMethod, then these pseudo-methods for what has no JSON-RPC method.
    private static readonly int MethodCount = Enum.GetValues<McpMethod>().Length;
    private static readonly int Response = MethodCount, Batch = MethodCount + 1, HttpGet = MethodCount + 2, HttpDelete = MethodCount + 3, NotInspected = MethodCount + 4;
    private static readonly int MethodLabels = MethodCount + 5;
    private static readonly string[] DecisionNames = ["allow", "deny", "require_approval", "none"];
    private const int NoDecision = 3;
    private static readonly string[] StatusNames = ["1xx", "2xx", "3xx", "4xx", "5xx", "none"];
    private static readonly int AuthFailureCount = Enum.GetValues<AuthFailure>().Length;
    private static readonly string[] AuthFailureNames = Array.ConvertAll(Enum.GetValues<AuthFailure>(), f => f.ToString());

    private readonly long[] _requests = new long[MethodLabels * DecisionNames.Length * StatusNames.Length];
    private readonly byte[][] _toolTokens;
    private readonly string[] _toolNames;
    private readonly long[] _toolCalls;
    private readonly long[] _authFailures = new long[AuthFailureCount];

    public ExchangeMetrics(IReadOnlyList<string> tools)
    {
        _toolNames = [.. tools, "other"];
        // Compared with the raw JSON string token (quotes included); a name written with escapes counts as "other".
        _toolTokens = new byte[tools.Count][];
        for (int i = 0; i < tools.Count; i++) _toolTokens[i] = Encoding.UTF8.GetBytes(System.Text.Json.JsonSerializer.Serialize(tools[i], Configuration.GatewayJsonContext.Default.String));
        _toolCalls = new long[_toolNames.Length * DecisionNames.Length];
    }

    /// <summary>The whole exchange, from its head read to its answer sent (an event stream's whole life).</summary>
    public LatencyHistogram Exchange { get; } = new("fastmcp_exchange_duration_seconds", "time from a request's head to the end of its answer");

    /// <summary>From sending a request upstream to the upstream's response head.</summary>
    public LatencyHistogram Upstream { get; } = new("fastmcp_upstream_response_seconds", "time from forwarding a request to the upstream's response head");

    /// <summary>How long a request waited for its audit record to be durable before it was forwarded.</summary>
    public LatencyHistogram AuditWait { get; } = new("fastmcp_audit_durable_wait_seconds", "time a request waited for its audit record to be durable (strict audit)");

    /// <summary>The tool label of a tools/call (index into the configured names, the last being "other"); -1 for other methods.</summary>
    public int ToolIndex(in ReadOnlySequence<byte> body, in McpCall call)
    {
        if (call.Method != McpMethod.ToolsCall || !call.HasName) return -1;
        int other = _toolNames.Length - 1;
        int start = call.NameRange.Start.Value, length = call.NameRange.End.Value - start;
        if (call.NameHasEscapes || length > 256) return other;
        ReadOnlySequence<byte> token = body.Slice(start, length);
        Span<byte> copy = stackalloc byte[256];
        ReadOnlySpan<byte> text = token.IsSingleSegment ? token.FirstSpan : copy[..length];
        if (!token.IsSingleSegment) token.CopyTo(copy);
        for (int i = 0; i < _toolTokens.Length; i++)
        {
            if (text.SequenceEqual(_toolTokens[i])) return i;
        }
        return other;
    }

    /// <summary>Counts a finished exchange (call after its answer was written).</summary>
    public void RecordExchange(Exchange ex)
    {
        int method = !ex.HasCall
            ? ex.Request.Method switch { Http.HttpMethod.Get => HttpGet, Http.HttpMethod.Delete => HttpDelete, _ => NotInspected }
            : ex.Call.Kind switch
            {
                McpMessageKind.Batch => Batch,
                McpMessageKind.Response or McpMessageKind.ErrorResponse => Response,
                _ => (int)ex.Call.Method,
            };
        int decision = ex.Decision is { } d ? d.Action switch { PolicyAction.Allow => 0, PolicyAction.Deny => 1, _ => 2 } : NoDecision;
        int status = ex.ResponseStatus is >= 100 and < 600 ? ex.ResponseStatus / 100 - 1 : 5;
        Interlocked.Increment(ref _requests[(method * DecisionNames.Length + decision) * StatusNames.Length + status]);
        if (ex.ToolLabel >= 0) Interlocked.Increment(ref _toolCalls[ex.ToolLabel * DecisionNames.Length + decision]);
        Exchange.ObserveSince(ex.StartTimestamp);
    }

    public void CountAuthenticationFailure(AuthFailure reason) => Interlocked.Increment(ref _authFailures[(int)reason]);

    public void Render(StringBuilder sb)
    {
        Header(sb, "fastmcp_exchanges_total", "exchanges by MCP method, policy decision and HTTP status class of the answer");
        for (int m = 0; m < MethodLabels; m++)
        {
            for (int d = 0; d < DecisionNames.Length; d++)
            {
                for (int s = 0; s < StatusNames.Length; s++)
                {
                    long v = Volatile.Read(ref _requests[(m * DecisionNames.Length + d) * StatusNames.Length + s]);
                    if (v == 0) continue;
                    sb.Append("fastmcp_exchanges_total{method=\"").Append(MethodName(m)).Append("\",decision=\"").Append(DecisionNames[d])
                        .Append("\",status=\"").Append(StatusNames[s]).Append("\"} ").Append(v).Append('\n');
                }
            }
        }
        Header(sb, "fastmcp_tool_calls_total", "tools/call exchanges by tool (names listed in metrics.tools, else other) and policy decision");
        for (int t = 0; t < _toolNames.Length; t++)
        {
            for (int d = 0; d < DecisionNames.Length; d++)
            {
                long v = Volatile.Read(ref _toolCalls[t * DecisionNames.Length + d]);
                if (v == 0) continue;
                sb.Append("fastmcp_tool_calls_total{tool=\"");
                AppendLabelValue(sb, _toolNames[t]);
                sb.Append("\",decision=\"").Append(DecisionNames[d]).Append("\"} ").Append(v).Append('\n');
            }
        }
        Header(sb, "fastmcp_auth_failures_total", "requests refused by authentication, by reason");
        for (int r = 1; r < AuthFailureCount; r++)
        {
            sb.Append("fastmcp_auth_failures_total{reason=\"").Append(AuthFailureNames[r]).Append("\"} ")
                .Append(Volatile.Read(ref _authFailures[r])).Append('\n');
        }
        Exchange.Render(sb);
        Upstream.Render(sb);
        AuditWait.Render(sb);
    }

    private static string MethodName(int m)
    {
        if (m < MethodCount) return m == (int)McpMethod.Unknown ? "other" : McpMethods.Name((McpMethod)m);
        if (m == Response) return "response";
        if (m == Batch) return "batch";
        if (m == HttpGet) return "GET";
        if (m == HttpDelete) return "DELETE";
        return "none";
    }

    private static void Header(StringBuilder sb, string name, string help) =>
        sb.Append("# HELP ").Append(name).Append(' ').Append(help).Append("\n# TYPE ").Append(name).Append(" counter\n");

    /// <summary>Label values escape backslash, quote and newline (exposition format).</summary>
    private static void AppendLabelValue(StringBuilder sb, string value)
    {
        foreach (char c in value)
        {
            if (c == '\\') sb.Append("\\\\");
            else if (c == '"') sb.Append("\\\"");
            else if (c == '\n') sb.Append("\\n");
            else sb.Append(c);
        }
    }
}
