using FastMcp.Audit.Storage;

namespace FastMcp.Audit.Tests;

/// <summary>The real file system with a switch that makes every write fail like a full disk (after writing half the bytes, as ENOSPC can).</summary>
public sealed class FaultyFileSystem : IAuditFileSystem
{
    private readonly PhysicalAuditFileSystem _inner = PhysicalAuditFileSystem.Instance;
    public volatile bool Full;
    public int FailedWrites;

    private void ThrowIfFull()
    {
        if (!Full) return;
        Interlocked.Increment(ref FailedWrites);
        throw new IOException("No space left on device");
    }

    public IAuditFile OpenAppend(string path) { ThrowIfFull(); return new FaultyFile(this, _inner.OpenAppend(path)); }
    public byte[] ReadAllBytes(string path) => _inner.ReadAllBytes(path);
    public void ReplaceDurably(string path, ReadOnlySpan<byte> content) { ThrowIfFull(); _inner.ReplaceDurably(path, content); }
    public void Rename(string from, string to) => _inner.Rename(from, to);
    public void Delete(string path) => _inner.Delete(path);
    public bool Exists(string path) => _inner.Exists(path);
    public IReadOnlyList<string> ListFileNames(string directory) => _inner.ListFileNames(directory);
    public void CreateDirectory(string path) => _inner.CreateDirectory(path);
    public DateTime GetLastWriteTimeUtc(string path) => _inner.GetLastWriteTimeUtc(path);

    private sealed class FaultyFile(FaultyFileSystem owner, IAuditFile inner) : IAuditFile
    {
        public long Length => inner.Length;
        public void Append(ReadOnlySpan<byte> data)
        {
            if (owner.Full)
            {
                inner.Append(data[..(data.Length / 2)]);
                owner.ThrowIfFull();
            }
            inner.Append(data);
        }
        public void Flush() { owner.ThrowIfFull(); inner.Flush(); }
        public void Truncate(long length) => inner.Truncate(length);
        public void Dispose() => inner.Dispose();
    }
}
