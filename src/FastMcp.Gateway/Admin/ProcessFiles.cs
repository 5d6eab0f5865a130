namespace FastMcp.Gateway.Admin;

/// <summary>Open file descriptors and their limit, from /proc (Linux); null where /proc is not there.</summary>
internal static class ProcessFiles
{
    public static long? OpenDescriptors()
    {
        try
        {
            long n = 0;
            foreach (string _ in Directory.EnumerateFileSystemEntries("/proc/self/fd")) n++;
            return n;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>The soft limit ("Max open files" in /proc/self/limits).</summary>
    public static long? MaxDescriptors()
    {
        try
        {
            foreach (string line in File.ReadLines("/proc/self/limits"))
            {
                if (!line.StartsWith("Max open files", StringComparison.Ordinal)) continue;
                string[] parts = line["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                return parts.Length > 0 && long.TryParse(parts[0], out long soft) ? soft : null;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
        return null;
    }
}
