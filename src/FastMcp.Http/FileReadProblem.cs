namespace FastMcp.Http;

/// <summary>
/// Why a configured file (a CA bundle, a key) could not be read, in our own words: the Native AOT binary is built with
/// UseSystemResourceKeys, so the framework's exception messages are resource keys (IO_FileNotFound_FileName).
/// </summary>
public static class FileReadProblem
{
    public static string Describe(Exception e) => e switch
    {
        FileNotFoundException => "no such file",
        DirectoryNotFoundException => "a folder on the path does not exist",
        UnauthorizedAccessException => "permission denied (or it is a folder)",
        _ => $"I/O error 0x{e.HResult:x8}",
    };
}
