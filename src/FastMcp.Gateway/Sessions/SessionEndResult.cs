namespace FastMcp.Gateway.Sessions;

/// <summary>How ending a forgotten session at its upstream went (the result label of fastmcp_upstream_sessions_ended_total).</summary>
internal enum SessionEndResult : byte
{
    /// <summary>The upstream answered the DELETE with 2xx.</summary>
    Ended,
    /// <summary>The upstream answered 404: the session had ended there already (its own idle timeout, a restart).</summary>
    NotFound,
    /// <summary>No answer, or another status (405: the upstream does not let clients end sessions).</summary>
    Failed,
    /// <summary>Never sent: the upstream's queue was full and this was its oldest pending end.</summary>
    Dropped,
}

internal static class SessionEndResults
{
    public const int Count = 4;

    public static string Label(SessionEndResult result) => result switch
    {
        SessionEndResult.Ended => "ended",
        SessionEndResult.NotFound => "not_found",
        SessionEndResult.Failed => "failed",
        _ => "dropped",
    };

    /// <summary>What an upstream's answer to the DELETE means (status 0: it gave none).</summary>
    public static SessionEndResult Of(int status) => status switch
    {
        >= 200 and < 300 => SessionEndResult.Ended,
        404 => SessionEndResult.NotFound,
        _ => SessionEndResult.Failed,
    };
}
