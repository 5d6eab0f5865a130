using FastMcp.Audit.Storage;

namespace FastMcp.Audit.Tests;

/// <summary>Directory fsync after renames and creations: works on a real directory, fails loudly on a missing one.</summary>
public sealed class DirectorySyncTests
{
    [Fact]
    public void Flushing_a_real_directory_succeeds()
    {
        string dir = Directory.CreateTempSubdirectory("fastmcp-dirsync-").FullName;
        try
        {
            DirectorySync.Flush(dir);
            PhysicalAuditFileSystem fs = PhysicalAuditFileSystem.Instance;
            using (IAuditFile f = fs.OpenAppend(Path.Combine(dir, "a.open"))) f.Append("x"u8);
            fs.Rename(Path.Combine(dir, "a.open"), Path.Combine(dir, "a.seg"));
            fs.ReplaceDurably(Path.Combine(dir, "head"), "1"u8);
            Assert.Equal(["a.seg", "head"], fs.ListFileNames(dir).Order(StringComparer.Ordinal));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Flushing_a_missing_directory_is_an_io_error_on_linux()
    {
        if (!OperatingSystem.IsLinux()) return;
        string missing = Path.Combine(Path.GetTempPath(), "fastmcp-missing-" + Guid.NewGuid().ToString("N"));
        IOException e = Assert.Throws<IOException>(() => DirectorySync.Flush(missing));
        Assert.Contains(missing, e.Message);
    }
}
