using System.Security.Cryptography;

namespace FastMcp.Audit.Shipping;

/// <summary>A folder as object store: keys are relative paths; create-only puts go through a temp file and a no-overwrite rename.</summary>
public sealed class DirectorySegmentStore(string root) : ISegmentStore
{
    public string Root { get; } = Path.GetFullPath(root);

    public string Describe(string key) => PathOf(key);

    public Task<PutResult> PutIfAbsentAsync(string key, ReadOnlyMemory<byte> data, byte[] sha256, CancellationToken ct)
    {
        string path = PathOf(key);
        if (File.Exists(path)) return Task.FromResult(Compare(path, sha256));
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        string temp = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 0))
            {
                stream.Write(data.Span);
                stream.Flush(flushToDisk: true);
            }
            try
            {
                File.Move(temp, path, overwrite: false);
            }
            catch (IOException) when (File.Exists(path))
            {
                return Task.FromResult(Compare(path, sha256));
            }
            return Task.FromResult(PutResult.Created);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    public Task PutAsync(string key, ReadOnlyMemory<byte> data, CancellationToken ct)
    {
        string path = PathOf(key);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        string temp = path + ".tmp";
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0))
        {
            stream.Write(data.Span);
            stream.Flush(flushToDisk: true);
        }
        File.Move(temp, path, overwrite: true);
        return Task.CompletedTask;
    }

    public Task<byte[]?> GetSha256Async(string key, CancellationToken ct)
    {
        string path = PathOf(key);
        if (!File.Exists(path)) return Task.FromResult<byte[]?>(null);
        using var stream = File.OpenRead(path);
        return Task.FromResult<byte[]?>(SHA256.HashData(stream));
    }

    public Task<byte[]?> GetAsync(string key, CancellationToken ct)
    {
        string path = PathOf(key);
        return Task.FromResult(File.Exists(path) ? File.ReadAllBytes(path) : null);
    }

    public Task<IReadOnlyList<string>> ListAsync(string prefix, CancellationToken ct)
    {
        var result = new List<string>();
        if (Directory.Exists(Root))
        {
            foreach (var file in Directory.EnumerateFiles(Root, "*", SearchOption.AllDirectories))
            {
                string key = Path.GetRelativePath(Root, file).Replace(Path.DirectorySeparatorChar, '/');
                if (key.StartsWith(prefix, StringComparison.Ordinal) && !key.EndsWith(".tmp", StringComparison.Ordinal)) result.Add(key);
            }
        }
        result.Sort(StringComparer.Ordinal);
        return Task.FromResult<IReadOnlyList<string>>(result);
    }

    private static PutResult Compare(string path, byte[] sha256)
    {
        using var stream = File.OpenRead(path);
        return SHA256.HashData(stream).AsSpan().SequenceEqual(sha256) ? PutResult.AlreadyIdentical : PutResult.Conflict;
    }

    private string PathOf(string key)
    {
        if (key.Contains("..", StringComparison.Ordinal) || Path.IsPathRooted(key)) throw new ArgumentException("object key escapes the store", nameof(key));
        return Path.Combine(Root, key.Replace('/', Path.DirectorySeparatorChar));
    }

    public void Dispose() { }
}
