namespace FastMcp.Identity.Tests.Support;

internal static class RepoPaths
{
    /// <summary>The repository root: the first ancestor of the test binary that holds FastMcp.sln.</summary>
    public static string Root { get; } = Find();

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "FastMcp.sln")))
                return dir.FullName;
        throw new InvalidOperationException("FastMcp.sln not found above " + AppContext.BaseDirectory);
    }
}
