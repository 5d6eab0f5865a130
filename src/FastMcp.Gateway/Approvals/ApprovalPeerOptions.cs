using FastMcp.Gateway.Configuration;

namespace FastMcp.Gateway.Approvals;

/// <summary>
/// The "approvals.peers" section: the admin listeners of every replica, asked for grants, pending approvals and the
/// approvals API when this replica does not hold what is asked for (docs/approvals.md, "Restarts and replicas").
/// </summary>
public sealed class ApprovalPeerOptions
{
    /// <summary>Admin base URLs of every replica (http://host:port); this replica's own may be listed, it skips itself.</summary>
    public List<string> Urls { get; set; } = [];

    /// <summary>How long one round of peer requests may take; a peer that has not answered by then counts as failed.</summary>
    public int TimeoutMs { get; set; } = 1_000;

    internal bool IsConfigured => Urls is { Count: > 0 };

    internal void Validate()
    {
        if (Urls is null) throw new ConfigurationException("approvals.peers.urls", "must be a list");
        for (int i = 0; i < Urls.Count; i++)
        {
            if (!Uri.TryCreate(Urls[i], UriKind.Absolute, out Uri? uri) || uri.Scheme is not ("http" or "https") || !string.IsNullOrEmpty(uri.UserInfo)
                || uri.AbsolutePath != "/" || !string.IsNullOrEmpty(uri.Query) || !string.IsNullOrEmpty(uri.Fragment))
                throw new ConfigurationException($"approvals.peers.urls[{i}]", "must be an admin base URL: http(s)://host:port, without path, query or credentials");
        }
        if (TimeoutMs is < 50 or > 30_000) throw new ConfigurationException("approvals.peers.timeoutMs", "must be 50..30000");
    }
}
