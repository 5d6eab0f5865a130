namespace FastMcp.Gateway.Configuration;

/// <summary>The "admin" section: the admin listener and who may read its views (docs/configuration.md, "admin").</summary>
public sealed class AdminOptions
{
    public const string OperatorsAccess = "operators";
    public const string OpenAccess = "open";
    public const int DefaultMaxConnections = 64;
    public const int MaxMaxConnections = 4096;
    public const int DefaultRecordedRequestsPerMinute = 60;
    public const int MaxRecordedRequestsPerMinute = 6000;

    /// <summary>Admin listener (health, readiness, metrics, approvals API, observed tools). Empty disables it.</summary>
    public string Listen { get; set; } = "127.0.0.1:9090";

    /// <summary>
    /// Groups whose members may read GET /tools/observed (and /metrics with their own token), besides approvers. They
    /// decide no approval: reading the tool estate is not deciding calls.
    /// </summary>
    public List<string> OperatorGroups { get; set; } = [];

    /// <summary>
    /// "operators" (default): GET /tools/observed needs the token of an approver or of a member of <see cref="OperatorGroups"/>.
    /// "open": anyone who reaches the listener reads it (the behaviour before this setting existed).
    /// </summary>
    public string ToolsObservedAccess { get; set; } = OperatorsAccess;

    /// <summary>A file holding the scrape token(s) /metrics then requires (one per line; re-read when it changes).</summary>
    public string? MetricsTokenFile { get; set; }

    /// <summary>An environment variable holding the scrape token /metrics then requires.</summary>
    public string? MetricsTokenEnv { get; set; }

    /// <summary>
    /// Connections the admin listener serves at once (scrapers, probes, approvers, the CLI, peer replicas); one more is
    /// closed on accept and counted (fastmcp_admin_connections_refused_total).
    /// </summary>
    public int MaxConnections { get; set; } = DefaultMaxConnections;

    /// <summary>
    /// Admin requests recorded per caller and minute (burst as large): the approvals API's and /tools/observed's answers are
    /// each recorded before they are sent; past the budget a request is refused with 429 and recorded in aggregate.
    /// </summary>
    public int RecordedRequestsPerMinute { get; set; } = DefaultRecordedRequestsPerMinute;

    internal void Validate()
    {
        if (RecordedRequestsPerMinute is < 1 or > MaxRecordedRequestsPerMinute)
            throw new ConfigurationException("admin.recordedRequestsPerMinute",
                $"must be between 1 and {MaxRecordedRequestsPerMinute} (default {DefaultRecordedRequestsPerMinute}), not {RecordedRequestsPerMinute}");
        // The admin listener shares the process's file descriptors with the MCP listener: a bound, never "unbounded".
        if (MaxConnections is < 1 or > MaxMaxConnections)
            throw new ConfigurationException("admin.maxConnections", $"must be between 1 and {MaxMaxConnections} (default {DefaultMaxConnections}), not {MaxConnections}");
        if (!string.IsNullOrEmpty(Listen)) ListenAddress.Parse(Listen, "admin.listen");
        if (OperatorGroups is null) throw new ConfigurationException("admin.operatorGroups", "must be a list");
        for (int i = 0; i < OperatorGroups.Count; i++)
        {
            string g = OperatorGroups[i];
            if (string.IsNullOrWhiteSpace(g)) throw new ConfigurationException($"admin.operatorGroups[{i}]", "is blank");
            // A group claim is compared exactly: a padded name would match no one and lock every operator out unnoticed.
            if (g.Trim() != g) throw new ConfigurationException($"admin.operatorGroups[{i}]", $"'{g}' has leading or trailing white space");
        }
        if (ToolsObservedAccess is not (OperatorsAccess or OpenAccess))
            throw new ConfigurationException("admin.toolsObservedAccess", $"must be \"{OperatorsAccess}\" or \"{OpenAccess}\"");
        if (MetricsTokenFile is not null && string.IsNullOrWhiteSpace(MetricsTokenFile))
            throw new ConfigurationException("admin.metricsTokenFile", "is blank: set a file path or leave it out");
        if (MetricsTokenEnv is not null && string.IsNullOrWhiteSpace(MetricsTokenEnv))
            throw new ConfigurationException("admin.metricsTokenEnv", "is blank: set a variable name or leave it out");
        if (MetricsTokenFile is not null && MetricsTokenEnv is not null)
            throw new ConfigurationException("admin.metricsTokenEnv", "cannot be set together with admin.metricsTokenFile");
    }
}
