namespace FastMcp.Gateway.Cli;

/// <summary>
/// The bearer token a command sends to the admin listener: --token-file FILE, else $FASTMCP_TOKEN; never an argument
/// (it would show in process lists). Null when neither is given.
/// </summary>
internal static class AdminToken
{
    public static string? From(CommandLine cl) =>
        cl.Get("--token-file") is { } file ? Read(file) : Environment.GetEnvironmentVariable("FASTMCP_TOKEN") is { } value ? value.Trim() : null;

    private static string Read(string file)
    {
        try { return File.ReadAllText(file).Trim(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new UsageException($"--token-file: cannot read '{file}': {FastMcp.Http.PlainError.Describe(e, file)}"); }
    }
}
