using System.Runtime.CompilerServices;
using FastMcp.Policy;

namespace FastMcp.Gateway.RateLimiting;

/// <summary>What a request was refused by: the name is the metric label and what the audit record says.</summary>
internal enum RateLimitScope
{
    ClientAddress,
    Subject,
    /// <summary>A policy rule's own budget (rateLimitPerMinute), per subject.</summary>
    Rule,
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
        _maxTracked = options.MaxTracked;
    }

    private readonly int _maxTracked;
    // One table per compiled rule with a budget; a reloaded policy compiles new rules, which start with full buckets.
    private readonly ConditionalWeakTable<CompiledRule, TokenBucketTable> _perRule = new();

    /// <summary>The budget table of an allow rule with rateLimitPerMinute.</summary>
    public TokenBucketTable ForRule(CompiledRule rule) =>
        _perRule.TryGetValue(rule, out TokenBucketTable? table) ? table
            : _perRule.GetValue(rule, r => new TokenBucketTable(r.RateLimitPerMinute, r.RateLimitBurst, _maxTracked));

    /// <summary>The rule tables made so far (for the aggregate audit records).</summary>
    public List<(CompiledRule Rule, TokenBucketTable Table)> RuleTables()
    {
        var tables = new List<(CompiledRule, TokenBucketTable)>();
        foreach (KeyValuePair<CompiledRule, TokenBucketTable> entry in _perRule) tables.Add((entry.Key, entry.Value));
        return tables;
    }

    public TokenBucketTable? PerClientAddress { get; }
    public TokenBucketTable? PerSubject { get; }
    public TimeSpan RecordInterval { get; }
    public bool Any => PerClientAddress is not null || PerSubject is not null;

    /// <summary>Requests refused per scope (for /metrics).</summary>
    public readonly long[] Refused = new long[3];

    public static string Name(RateLimitScope scope) => scope switch
    {
        RateLimitScope.ClientAddress => "client_address",
        RateLimitScope.Subject => "subject",
        _ => "rule",
    };

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
