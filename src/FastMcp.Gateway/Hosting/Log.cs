namespace FastMcp.Gateway.Hosting;

/// <summary>
/// Operational log lines on stderr (stdout is kept for what a user pastes: the URL and first call).
/// Callers never pass bodies, tokens or secrets; names, targets and reasons that came from requests
/// or approvers may hold card numbers, so every line is masked before it is written.
/// </summary>
internal static class Log
{
    public static bool DebugEnabled { get; set; } = Environment.GetEnvironmentVariable("FASTMCP_DEBUG") == "1";

    public static void Info(string message) => Write("info", message);
    public static void Warn(string message) => Write("warn", message);
    public static void Error(string message) => Write("error", message);

    public static void Debug(string message)
    {
        if (DebugEnabled) Write("debug", message);
    }

    /// <summary>The text with every card number masked (first 6 and last 4 digits kept); the same instance when there is none.</summary>
    public static string MaskCards(string message) => Stages.CardText.Mask(message);

    private static void Write(string level, string message)
    {
        string line = $"{DateTime.UtcNow:yyyy-MM-ddTHH:mm:ss.ffffffZ} {level} {MaskCards(message)}";
        lock (Console.Error) Console.Error.WriteLine(line);
    }
}
