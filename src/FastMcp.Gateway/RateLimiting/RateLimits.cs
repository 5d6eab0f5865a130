namespace FastMcp.Gateway.RateLimiting;

/// <summary>What a request was refused by: the name is the metric label and what the audit record says.</summary>
internal enum RateLimitScope
{
    ClientAddress,
    Subject,
}

/// <summary>The configured request budgets; a null table is a limit that is off.</summary>
internal sealed class RateLimits
{
    public RateLimits(RateLimitOptions options)
    {
        if (options.PerClientAddress.PerMinute > 0)
            PerClientAddress = new TokenBucketTable(options.PerClientAddress.PerMinute, options.PerClientAddress.Burst, options.MaxTracked);
        if (options.PerSubject.PerMinute > 0)
            PerSubject = new TokenBucketTable(options.PerSubject.PerMinute, options.PerSubject.Burst, options.MaxTracked);
        RecordInterval = TimeSpan.FromSeconds(options.RecordIntervalSeconds);
    }

    public TokenBucketTable? PerClientAddress { get; }
    public TokenBucketTable? PerSubject { get; }
    public TimeSpan RecordInterval { get; }
    public bool Any => PerClientAddress is not null || PerSubject is not null;

    /// <summary>Requests refused per scope (for /metrics).</summary>
    public readonly long[] Refused = new long[2];

    public static string Name(RateLimitScope scope) => scope == RateLimitScope.ClientAddress ? "client_address" : "subject";

    public static void Validate(RateLimitOptions? o)
    {
        if (o is null) throw new Configuration.ConfigurationException("rateLimits", "must be an object");
        Check(o.PerClientAddress, "rateLimits.perClientAddress");
        Check(o.PerSubject, "rateLimits.perSubject");
        if (o.MaxTracked is < 64 or > 16_777_216) throw new Configuration.ConfigurationException("rateLimits.maxTracked", "must be between 64 and 16777216");
        if (o.RecordIntervalSeconds is < 1 or > 3600) throw new Configuration.ConfigurationException("rateLimits.recordIntervalSeconds", "must be between 1 and 3600");
    }

    private static void Check(BucketOptions? b, string field)
    {
        if (b is null) throw new Configuration.ConfigurationException(field, "must be an object");
        if (b.PerMinute is < 0 or > 60_000_000) throw new Configuration.ConfigurationException(field + ".perMinute", "must be between 0 (off) and 60000000");
        if (b.Burst is < 0 or > 60_000_000) throw new Configuration.ConfigurationException(field + ".burst", "must be between 0 and 60000000");
    }
}
