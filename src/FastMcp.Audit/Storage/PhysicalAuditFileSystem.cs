namespace FastMcp.Audit.Storage;

/// <summary>
/// The real file system; unbuffered FileStreams so Flush(true) is an fsync of exactly what was
/// appended. Renames and file creations also fsync the directory, so a sealed segment's name, a
/// checkpoint's replacement and a new segment survive a power cut along with their bytes.
/// </summary>
public sealed class PhysicalAuditFileSystem : IAuditFileSystem
{
    public static readonly PhysicalAuditFileSystem Instance = new();

    public IAuditFile OpenAppend(string path)
    {
        bool created = !File.Exists(path);
        var file = new PhysicalAuditFile(path);
        if (created) SyncDirectoryOf(path);
        return file;
    }

    public byte[] ReadAllBytes(string path) => File.ReadAllBytes(path);

    public void ReplaceDurably(string path, ReadOnlySpan<byte> content)
    {
        string temp = path + ".tmp";
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0))
        {
            stream.Write(content);
            stream.Flush(flushToDisk: true);
        }
        File.Move(temp, path, overwrite: true);
        SyncDirectoryOf(path);
    }

    public void Rename(string from, string to)
    {
        File.Move(from, to, overwrite: false);
        SyncDirectoryOf(to);
    }

    private static void SyncDirectoryOf(string path) => DirectorySync.Flush(Path.GetDirectoryName(Path.GetFullPath(path)) ?? ".");

    public void Delete(string path) => File.Delete(path);

    public bool Exists(string path) => File.Exists(path);

    public IReadOnlyList<string> ListFileNames(string directory)
    {
        if (!System.IO.Directory.Exists(directory)) return [];
        var result = new List<string>();
        foreach (var p in System.IO.Directory.EnumerateFiles(directory)) result.Add(Path.GetFileName(p));
        return result;
    }

    public void CreateDirectory(string path) => System.IO.Directory.CreateDirectory(path);

    public DateTime GetLastWriteTimeUtc(string path) => File.GetLastWriteTimeUtc(path);

    private sealed class PhysicalAuditFile : IAuditFile
    {
        private readonly FileStream _stream;

        public PhysicalAuditFile(string path)
        {
            _stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read, bufferSize: 0);
            _stream.Seek(0, SeekOrigin.End);
        }

        public long Length => _stream.Length;

        public void Append(ReadOnlySpan<byte> data) => _stream.Write(data);

        public void Flush() => _stream.Flush(flushToDisk: true);

        public void Truncate(long length)
        {
            _stream.SetLength(length);
            _stream.Seek(0, SeekOrigin.End);
        }

        public void Dispose() => _stream.Dispose();
    }
}
