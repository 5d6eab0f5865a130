using FastMcp.Audit.Storage;

namespace FastMcp.Audit.Tests;

/// <summary>
/// The real file system with a switch that makes every write fail like a full disk. A failed append behaves as
/// a short write does under ENOSPC: half the bytes really land on disk at the append position, then it throws,
/// and the handle's <see cref="IAuditFile.Length"/> does not move (RandomAccess.Write reports no partial count).
/// </summary>
public sealed class FaultyFileSystem : IAuditFileSystem
{
    private readonly PhysicalAuditFileSystem _inner = PhysicalAuditFileSystem.Instance;
    public volatile bool Full;
    public int FailedWrites;

    /// <summary>Fails one kind of step only, like ENOSPC would: ("open" | "append" | "flush" | "replace" | "rename", path) → fail.</summary>
    public volatile Func<string, string, bool>? FailWhen;

    /// <summary>When set, every flush (fsync) first waits until this is signalled: holds the writer inside a group commit.</summary>
    public volatile ManualResetEventSlim? FlushGate;

    /// <summary>Signalled when a flush starts waiting on <see cref="FlushGate"/>.</summary>
    public readonly ManualResetEventSlim FlushWaiting = new();

    private void ThrowIfFull(string operation = "", string path = "")
    {
        if (ShouldFail(operation, path)) Fail();
    }

    // Decided once per call: the test flips Full from another thread, and a write that
    // began failing must finish failing, like a real ENOSPC, not half-write then succeed.
    private bool ShouldFail(string operation, string path) => Full || FailWhen?.Invoke(operation, path) == true;

    private void Fail()
    {
        Interlocked.Increment(ref FailedWrites);
        throw new IOException("No space left on device");
    }

    public IAuditFile OpenAppend(string path) { ThrowIfFull("open", path); return new FaultyFile(this, _inner.OpenAppend(path), path); }
    public IAuditFile CreateAppend(string path) { ThrowIfFull("open", path); return new FaultyFile(this, _inner.CreateAppend(path), path); }
    /// <summary>A folder sync fails only when <see cref="FailWhen"/> picks it ("sync", folder): a full disk still syncs names.</summary>
    public void SyncDirectory(string directory)
    {
        if (FailWhen?.Invoke("sync", directory) == true) Fail();
        _inner.SyncDirectory(directory);
    }
    /// <summary>Whole-file reads of the paths this picks fail as a permission denial (EACCES) would.</summary>
    public volatile Func<string, bool>? DenyReadWhen;

    public byte[] ReadAllBytes(string path) =>
        DenyReadWhen?.Invoke(path) == true ? throw new UnauthorizedAccessException($"Access to the path '{path}' is denied.") : _inner.ReadAllBytes(path);
    public int ReadAt(string path, long offset, Span<byte> destination) => _inner.ReadAt(path, offset, destination);
    public void ReplaceDurably(string path, ReadOnlySpan<byte> content) { ThrowIfFull("replace", path); _inner.ReplaceDurably(path, content); }
    public void Rename(string from, string to) { ThrowIfFull("rename", from); _inner.Rename(from, to); }
    public void Delete(string path) => _inner.Delete(path);
    public bool Exists(string path) => _inner.Exists(path);
    public IReadOnlyList<string> ListFileNames(string directory) => _inner.ListFileNames(directory);
    public void CreateDirectory(string path) => _inner.CreateDirectory(path);
    public DateTime GetLastWriteTimeUtc(string path) => _inner.GetLastWriteTimeUtc(path);

    private sealed class FaultyFile(FaultyFileSystem owner, IAuditFile inner, string path) : IAuditFile
    {
        public long Length => inner.Length;
        public void Append(ReadOnlySpan<byte> data)
        {
            if (owner.ShouldFail("append", path))
            {
                // A second handle writes past the inner file's idea of its end, as the kernel did before ENOSPC.
                using (var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite))
                    RandomAccess.Write(handle, data[..(data.Length / 2)], inner.Length);
                owner.Fail();
            }
            inner.Append(data);
        }
        public void Flush()
        {
            if (owner.FlushGate is { } gate)
            {
                owner.FlushWaiting.Set();
                gate.Wait();
            }
            owner.ThrowIfFull("flush", path);
            inner.Flush();
        }
        public void Truncate(long length) => inner.Truncate(length);
        public long Reserved => inner.Reserved;
        public void Reserve(long size, bool durable = true) { owner.ThrowIfFull("reserve", path); inner.Reserve(size, durable); }
        public void Dispose() => inner.Dispose();
    }
}
