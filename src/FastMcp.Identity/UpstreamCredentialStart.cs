namespace FastMcp.Identity;

/// <summary>
/// How an upstream credential is brought up: the upstream it is for (named in log lines), whether an oauth source starts
/// fetching tokens (not for a configuration check), and where its log lines go (the identity library has no logger).
/// </summary>
public sealed record UpstreamCredentialStart(string Upstream, bool FetchTokens, Action<string>? Info, Action<string>? Warn);
