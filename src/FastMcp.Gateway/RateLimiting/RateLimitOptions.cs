namespace FastMcp.Gateway.RateLimiting;

/// <summary>Request budgets (token buckets): per client address before authentication, per subject after it.</summary>
public sealed class RateLimitOptions
{
    /// <summary>Requests one client address may make; checked before its token is validated. Off when perMinute is 0.</summary>
    public BucketOptions PerClientAddress { get; set; } = new();

    /// <summary>Requests one authenticated subject may make; checked before policy and the upstream. Off when perMinute is 0.</summary>
    public BucketOptions PerSubject { get; set; } = new();

    /// <summary>Buckets kept per kind (a fixed table: a flood of new addresses evicts the least recently used, never grows it).</summary>
    public int MaxTracked { get; set; } = 65_536;

    /// <summary>Requests refused with 429 are recorded as one audit record per address or subject per this many seconds.</summary>
    public int RecordIntervalSeconds { get; set; } = 10;
}

public sealed class BucketOptions
{
    /// <summary>Average requests per minute (the refill rate); 0 turns the limit off.</summary>
    public int PerMinute { get; set; }

    /// <summary>Requests allowed at once (the bucket's size); 0 means the same as perMinute.</summary>
    public int Burst { get; set; }
}
