namespace FastMcp.Gateway.Tracing;

/// <summary>
/// One sampled exchange as queued for export: ids, times and bounded attributes, fixed size. Strings are
/// references to ones that already exist (static method and decision names, the principal's subject, the
/// connection's client address, the rule's name), so copying a record into the queue allocates nothing. The
/// exporter turns it into a server span and a child span per stage that ran.
/// </summary>
internal struct ExchangeSpanRecord
{
    public ulong TraceHigh, TraceLow, ParentSpanId, SpanId;
    public long Start, End;
    public StageTimes Stages;
    /// <summary>The MCP method ("tools/call"), or what stood instead ("response", "batch", "GET", "other").</summary>
    public string Method;
    public string? Subject, Client, Decision, Rule;
    public int Status;

    /// <summary>Spans this record becomes: the server span and one per stage that ran.</summary>
    public readonly int SpanCount => 1 + Stages.ChildCount;
}
