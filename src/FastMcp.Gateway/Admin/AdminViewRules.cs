using FastMcp.Gateway.Configuration;

namespace FastMcp.Gateway.Admin;

/// <summary>
/// Which admin views need a credential, from the admin section (fixed at start): /tools/observed unless
/// admin.toolsObservedAccess is "open"; /metrics when a scrape token is configured.
/// </summary>
internal sealed class AdminViewRules(bool toolsObservedOpen, MetricsScrapeToken? scrapeToken)
{
    public bool ToolsObservedOpen { get; } = toolsObservedOpen;

    /// <summary>The token /metrics requires; null: /metrics is open.</summary>
    public MetricsScrapeToken? ScrapeToken { get; } = scrapeToken;

    /// <summary>The rules of <paramref name="options"/>; a scrape token source that gives no usable token stops the start, naming the field.</summary>
    public static AdminViewRules From(AdminOptions options) =>
        new(options.ToolsObservedAccess == AdminOptions.OpenAccess, MetricsScrapeToken.Load(options));
}
