using FastMcp.Audit.Format;
using FastMcp.Audit.Storage;

namespace FastMcp.Audit.Tests;

/// <summary>The real file system, with the bytes read back from segment files and the directory listings counted.</summary>
public sealed class CountingFileSystem : IAuditFileSystem
{
    private readonly PhysicalAuditFileSystem _inner = PhysicalAuditFileSystem.Instance;
    private long _segmentBytesRead, _listings;

    public long SegmentBytesRead => Interlocked.Read(ref _segmentBytesRead);
    public long Listings => Interlocked.Read(ref _listings);

    private void Count(string path, long bytes)
    {
        if (SegmentNames.TryParse(Path.GetFileName(path), out _, out _)) Interlocked.Add(ref _segmentBytesRead, bytes);
    }

    public IAuditFile OpenAppend(string path) => _inner.OpenAppend(path);
    public IAuditFile CreateAppend(string path) => _inner.CreateAppend(path);
    public void SyncDirectory(string directory) => _inner.SyncDirectory(directory);
    public byte[] ReadAllBytes(string path)
    {
        var data = _inner.ReadAllBytes(path);
        Count(path, data.Length);
        return data;
    }
    public int ReadAt(string path, long offset, Span<byte> destination)
    {
        int n = _inner.ReadAt(path, offset, destination);
        Count(path, n);
        return n;
    }
    public void ReplaceDurably(string path, ReadOnlySpan<byte> content) => _inner.ReplaceDurably(path, content);
    public void Rename(string from, string to) => _inner.Rename(from, to);
    public void Delete(string path) => _inner.Delete(path);
    public bool Exists(string path) => _inner.Exists(path);
    public IReadOnlyList<string> ListFileNames(string directory)
    {
        Interlocked.Increment(ref _listings);
        return _inner.ListFileNames(directory);
    }
    public void CreateDirectory(string path) => _inner.CreateDirectory(path);
    public DateTime GetLastWriteTimeUtc(string path) => _inner.GetLastWriteTimeUtc(path);
}
