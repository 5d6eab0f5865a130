namespace FastMcp.Audit.Cli;

/// <summary>
/// Why a file could not be read or written, in our own words: the Native-AOT binary is built with
/// UseSystemResourceKeys, so the framework's exception messages are resource keys (IO_FileNotFound_FileName).
/// </summary>
public static class FileProblem
{
    public static string Describe(Exception e) => e switch
    {
        FileNotFoundException => "no such file",
        DirectoryNotFoundException => "a folder on the path does not exist",
        UnauthorizedAccessException => "permission denied (or it is a folder)",
        PathTooLongException => "the path is too long",
        // On Unix an IOException's HResult is the errno.
        IOException when OperatingSystem.IsLinux() && e.HResult == 17 => "the file already exists",
        IOException when OperatingSystem.IsLinux() && e.HResult == 28 => "no space left on the device",
        IOException when OperatingSystem.IsLinux() && e.HResult == 30 => "the file system is read-only",
        _ => $"I/O error 0x{e.HResult:x8}",
    };
}
