namespace FastMcp.Gateway.Hosting;

/// <summary>
/// Operational log lines on stderr (stdout is kept for what a user pastes: the URL and first call).
/// Callers never pass bodies, tokens or secrets.
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

    private static void Write(string level, string message)
    {
        string line = $"{DateTime.UtcNow:yyyy-MM-ddTHH:mm:ss.ffffffZ} {level} {message}";
        lock (Console.Error) Console.Error.WriteLine(line);
    }
}
