using System.Security.Cryptography;
using FastMcp.Audit.Shipping;

namespace FastMcp.Audit.Tests;

/// <summary>A dictionary as object store, so tamper tests can edit objects cheaply.</summary>
public sealed class InMemorySegmentStore : ISegmentStore
{
    public SortedDictionary<string, byte[]> Objects { get; } = new(StringComparer.Ordinal);

    /// <summary>Loads every file under a folder (keys relative, '/'-separated).</summary>
    public static InMemorySegmentStore FromDirectory(string root)
    {
        var store = new InMemorySegmentStore();
        foreach (var f in Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories))
            if (Path.GetFileName(f) != FastMcp.Audit.Storage.ChainWriterLock.FileName) // a live writer's lock, not part of the log
            store.Objects[Path.GetRelativePath(root, f).Replace('\\', '/')] = File.ReadAllBytes(f);
        return store;
    }

    public InMemorySegmentStore Clone()
    {
        var c = new InMemorySegmentStore();
        foreach (var (k, v) in Objects) c.Objects[k] = (byte[])v.Clone();
        return c;
    }

    public string Describe(string key) => "mem:" + key;

    public Task<PutResult> PutIfAbsentAsync(string key, ReadOnlyMemory<byte> data, byte[] sha256, CancellationToken ct)
    {
        if (Objects.TryGetValue(key, out var existing))
            return Task.FromResult(SHA256.HashData(existing).AsSpan().SequenceEqual(sha256) ? PutResult.AlreadyIdentical : PutResult.Conflict);
        Objects[key] = data.ToArray();
        return Task.FromResult(PutResult.Created);
    }

    public Task PutAsync(string key, ReadOnlyMemory<byte> data, CancellationToken ct) { Objects[key] = data.ToArray(); return Task.CompletedTask; }

    public Task<byte[]?> GetSha256Async(string key, CancellationToken ct) =>
        Task.FromResult(Objects.TryGetValue(key, out var v) ? SHA256.HashData(v) : null);

    public Task<byte[]?> GetAsync(string key, CancellationToken ct) => Task.FromResult(Objects.TryGetValue(key, out var v) ? v : null);

    public Task<IReadOnlyList<string>> ListAsync(string prefix, CancellationToken ct)
    {
        var keys = new List<string>();
        foreach (var k in Objects.Keys) if (k.StartsWith(prefix, StringComparison.Ordinal)) keys.Add(k);
        return Task.FromResult<IReadOnlyList<string>>(keys);
    }

    public void Dispose() { }
}
