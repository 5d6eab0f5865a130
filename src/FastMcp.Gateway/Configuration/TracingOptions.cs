namespace FastMcp.Gateway.Configuration;

/// <summary>
/// OpenTelemetry spans of each exchange, exported over OTLP/HTTP protobuf (docs/operations.md#tracing). Off while
/// otlpEndpoint is empty. Every field needs a restart: the exporter and its queue are built at start.
/// </summary>
public sealed class TracingOptions
{
    /// <summary>http(s)://host:port/v1/traces of an OTLP/HTTP receiver (a collector). Empty: no spans are recorded.</summary>
    public string OtlpEndpoint { get; set; } = "";

    /// <summary>The service.name resource attribute of the exported spans.</summary>
    public string ServiceName { get; set; } = "fastmcp";

    /// <summary>
    /// Share of the traces the gateway starts (no valid incoming traceparent) that are sampled, 0 to 1. A continued
    /// trace follows its caller's sampled flag instead (parent-based sampling).
    /// </summary>
    public double SampleRatio { get; set; } = 0.01;

    /// <summary>Spans held for export at most; beyond it new spans are dropped and counted.</summary>
    public int MaxQueueSize { get; set; } = 2048;

    /// <summary>Spans sent in one export request at most.</summary>
    public int MaxExportBatchSize { get; set; } = 512;

    /// <summary>A span waits at most this long before it is exported (sooner when a full batch is queued).</summary>
    public int ScheduleDelayMs { get; set; } = 5_000;

    /// <summary>One export request (each attempt) is given up after this long.</summary>
    public int ExportTimeoutMs { get; set; } = 10_000;

    [System.Text.Json.Serialization.JsonIgnore]
    public bool Enabled => !string.IsNullOrEmpty(OtlpEndpoint);

    public void Validate()
    {
        if (!string.IsNullOrEmpty(OtlpEndpoint))
        {
            if (!Uri.TryCreate(OtlpEndpoint, UriKind.Absolute, out Uri? uri) || uri.Scheme is not ("http" or "https") || !string.IsNullOrEmpty(uri.Query)
                || !string.IsNullOrEmpty(uri.UserInfo))
                throw new ConfigurationException("tracing.otlpEndpoint", $"'{OtlpEndpoint}' is not an http(s)://host:port/path URL (e.g. http://otel-collector:4318/v1/traces)");
        }
        if (string.IsNullOrWhiteSpace(ServiceName) || ServiceName.Length > 128)
            throw new ConfigurationException("tracing.serviceName", "must be 1 to 128 characters");
        if (!(SampleRatio >= 0 && SampleRatio <= 1)) throw new ConfigurationException("tracing.sampleRatio", "must be between 0 and 1");
        if (MaxQueueSize < 1 || MaxQueueSize > 1_000_000) throw new ConfigurationException("tracing.maxQueueSize", "must be between 1 and 1000000");
        if (MaxExportBatchSize < 1 || MaxExportBatchSize > MaxQueueSize)
            throw new ConfigurationException("tracing.maxExportBatchSize", "must be between 1 and tracing.maxQueueSize");
        if (ScheduleDelayMs < 1 || ScheduleDelayMs > 600_000) throw new ConfigurationException("tracing.scheduleDelayMs", "must be between 1 and 600000");
        if (ExportTimeoutMs < 1 || ExportTimeoutMs > 600_000) throw new ConfigurationException("tracing.exportTimeoutMs", "must be between 1 and 600000");
    }
}
