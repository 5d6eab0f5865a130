namespace FastMcp.Identity;

/// <summary>Values of <see cref="IdentityOptions.StreamsEndWithToken"/>: which event streams end when their token stops being valid.</summary>
public static class StreamsEndWithToken
{
    /// <summary>Standalone GET streams only (the channel for server-initiated messages). A POST's answer stream carries
    /// the answer to a call authenticated when made, and cutting it would lose that answer.</summary>
    public const string Standalone = "standalone";
    /// <summary>Every event stream, POST answer streams included: no message reaches a client after its token expired.</summary>
    public const string All = "all";
}
