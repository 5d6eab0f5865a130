using System.Security.Cryptography;
using FastMcp.Audit.Storage;

namespace FastMcp.Audit.Tests;

/// <summary>
/// The real file system, and beside it a model of what a power cut would leave of one chain folder after every step the
/// writer takes (every write, flush, folder sync, rename, replacement): the crash points. At each point the images are
/// every subset (in order) of the folder changes made since its last sync (a created, renamed or deleted name may or may
/// not have reached the disk, independently), each with the files' bytes as of their last flush or with everything
/// written. The names in the folder before the model starts, and their bytes, are durable.
/// Counts the flushes of each kind, so a test can say how many a start makes.
/// </summary>
public sealed class CrashPointFileSystem : IAuditFileSystem
{
    private readonly PhysicalAuditFileSystem _inner = PhysicalAuditFileSystem.Instance;
    private readonly string _folder;
    private readonly object _gate = new();
    private Dictionary<string, Node> _synced = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Node> _current = new(StringComparer.Ordinal);
    private readonly List<FolderChange> _pending = new();
    private readonly List<string> _imageKeys = new();
    private readonly HashSet<string> _seen = new(StringComparer.Ordinal);

    /// <summary>A file's bytes: as of its last flush, and as written.</summary>
    private sealed class Node(byte[] durable, byte[] written)
    {
        public byte[] Durable = durable;
        public byte[] Written = written;
    }

    private readonly record struct FolderChange(string? Removed, string? Added, Node? Node);

    /// <summary>A crash image: the folder's files by name, and the step it follows.</summary>
    public sealed record Image(string Step, IReadOnlyDictionary<string, byte[]> Files);

    /// <summary>Every distinct image, in the order the steps were taken.</summary>
    public List<Image> Images { get; } = new();

    public int FileFlushes { get; private set; }
    public int FolderSyncs { get; private set; }
    public int Replacements { get; private set; }

    public CrashPointFileSystem(string chainFolder)
    {
        _folder = Path.GetFullPath(chainFolder);
        Directory.CreateDirectory(_folder);
        foreach (string path in Directory.EnumerateFiles(_folder))
        {
            string name = Path.GetFileName(path);
            if (name == ChainWriterLock.FileName) continue;
            byte[] bytes = File.ReadAllBytes(path);
            _current[name] = new Node(bytes, bytes);
        }
        _synced = new Dictionary<string, Node>(_current, StringComparer.Ordinal);
        Capture("before the start");
    }

    private bool InFolder(string path) => string.Equals(Path.GetDirectoryName(Path.GetFullPath(path)), _folder, StringComparison.Ordinal);

    private void Change(string? removed, string? added, Node? node)
    {
        if (removed is not null) _current.Remove(removed);
        if (added is not null) _current[added] = node!;
        _pending.Add(new FolderChange(removed, added, node));
    }

    private void SyncFolder()
    {
        FolderSyncs++;
        _synced = new Dictionary<string, Node>(_current, StringComparer.Ordinal);
        _pending.Clear();
    }

    /// <summary>Records the images a crash right now could leave.</summary>
    private void Capture(string step)
    {
        for (int subset = 0; subset < 1 << _pending.Count; subset++)
        {
            var names = new Dictionary<string, Node>(_synced, StringComparer.Ordinal);
            for (int i = 0; i < _pending.Count; i++)
            {
                if ((subset & (1 << i)) == 0) continue;
                FolderChange c = _pending[i];
                if (c.Removed is not null) names.Remove(c.Removed);
                if (c.Added is not null) names[c.Added] = c.Node!;
            }
            foreach (bool written in new[] { false, true })
            {
                var files = new SortedDictionary<string, byte[]>(StringComparer.Ordinal);
                foreach ((string name, Node node) in names) files[name] = written ? node.Written : node.Durable;
                string key = Key(files);
                if (_seen.Add(key)) Images.Add(new Image(step, files));
            }
        }
    }

    private static string Key(SortedDictionary<string, byte[]> files)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach ((string name, byte[] bytes) in files)
        {
            hash.AppendData(System.Text.Encoding.UTF8.GetBytes(name + "\n" + bytes.Length + "\n"));
            hash.AppendData(bytes);
        }
        return Convert.ToHexString(hash.GetHashAndReset());
    }

    /// <summary>The images so far (the writer's thread may still add some).</summary>
    public List<Image> ImagesSoFar()
    {
        lock (_gate) return new List<Image>(Images);
    }

    /// <summary>What is on disk for certain now: the names synced, each with its bytes as of its last flush.</summary>
    public Image DurableNow()
    {
        lock (_gate)
        {
            var files = new SortedDictionary<string, byte[]>(StringComparer.Ordinal);
            foreach ((string name, Node node) in _synced) files[name] = node.Durable;
            return new Image("durable now", files);
        }
    }

    /// <summary>Writes <paramref name="image"/> as the chain folder <paramref name="chainFolder"/>.</summary>
    public static void Materialize(Image image, string chainFolder)
    {
        Directory.CreateDirectory(chainFolder);
        foreach ((string name, byte[] bytes) in image.Files) File.WriteAllBytes(Path.Combine(chainFolder, name), bytes);
    }

    public IAuditFile OpenAppend(string path)
    {
        lock (_gate)
        {
            if (!InFolder(path)) return _inner.OpenAppend(path);
            string name = Path.GetFileName(path);
            bool created = !File.Exists(path);
            var file = _inner.OpenAppend(path);
            if (!_current.TryGetValue(name, out Node? node) || created)
            {
                node = new Node([], []);
                Change(null, name, node);
                // The physical file system syncs the folder when OpenAppend creates a file.
                SyncFolder();
                Capture($"created {name} (folder synced)");
            }
            return new TrackedFile(this, file, path, node);
        }
    }

    public IAuditFile CreateAppend(string path)
    {
        lock (_gate)
        {
            if (!InFolder(path)) return _inner.CreateAppend(path);
            string name = Path.GetFileName(path);
            if (_current.ContainsKey(name)) Change(name, null, null);
            var file = _inner.CreateAppend(path);
            var node = new Node([], []);
            Change(null, name, node);
            Capture($"created {name} (folder not synced)");
            return new TrackedFile(this, file, path, node);
        }
    }

    public void SyncDirectory(string directory)
    {
        lock (_gate)
        {
            _inner.SyncDirectory(directory);
            if (!string.Equals(Path.GetFullPath(directory).TrimEnd('/'), _folder, StringComparison.Ordinal)) return;
            SyncFolder();
            Capture("folder synced");
        }
    }

    public void ReplaceDurably(string path, ReadOnlySpan<byte> content)
    {
        lock (_gate)
        {
            if (!InFolder(path))
            {
                _inner.ReplaceDurably(path, content);
                return;
            }
            // The physical steps, each a crash point: the temporary file written and fsynced, renamed, the folder synced.
            Replacements++;
            string name = Path.GetFileName(path), temp = path + ".tmp", tempName = name + ".tmp";
            byte[] bytes = content.ToArray();
            using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0))
            {
                stream.Write(bytes);
                stream.Flush(flushToDisk: true);
            }
            var node = new Node(bytes, bytes);
            Change(null, tempName, node);
            Capture($"{tempName} written and fsynced");
            File.Move(temp, path, overwrite: true);
            Change(tempName, name, node);
            Capture($"{tempName} renamed to {name}");
            DirectorySync.Flush(_folder);
            SyncFolder();
            Capture($"{name} replaced (folder synced)");
        }
    }

    public void Rename(string from, string to)
    {
        lock (_gate)
        {
            _inner.Rename(from, to);
            if (!InFolder(to)) return;
            string fromName = Path.GetFileName(from), toName = Path.GetFileName(to);
            Change(fromName, toName, _current[fromName]);
            Capture($"renamed {fromName} to {toName}");
            // The physical file system syncs the folder after a rename.
            SyncFolder();
            Capture($"renamed {fromName} to {toName} (folder synced)");
        }
    }

    public void Delete(string path)
    {
        lock (_gate)
        {
            _inner.Delete(path);
            if (!InFolder(path)) return;
            Change(Path.GetFileName(path), null, null);
            Capture($"deleted {Path.GetFileName(path)}");
        }
    }

    public byte[] ReadAllBytes(string path) => _inner.ReadAllBytes(path);
    public int ReadAt(string path, long offset, Span<byte> destination) => _inner.ReadAt(path, offset, destination);
    public bool Exists(string path) => _inner.Exists(path);
    public IReadOnlyList<string> ListFileNames(string directory) => _inner.ListFileNames(directory);
    public void CreateDirectory(string path) => _inner.CreateDirectory(path);
    public DateTime GetLastWriteTimeUtc(string path) => _inner.GetLastWriteTimeUtc(path);

    private sealed class TrackedFile(CrashPointFileSystem owner, IAuditFile inner, string path, Node node) : IAuditFile
    {
        public long Length => inner.Length;
        public long Reserved => inner.Reserved;

        private void Step(string what, bool durable)
        {
            lock (owner._gate)
            {
                node.Written = File.ReadAllBytes(path);
                if (durable)
                {
                    owner.FileFlushes++;
                    node.Durable = node.Written;
                }
                owner.Capture($"{what} {Path.GetFileName(path)}");
            }
        }

        public void Append(ReadOnlySpan<byte> data)
        {
            inner.Append(data);
            Step($"appended {data.Length} bytes to", durable: false);
        }

        public void Flush()
        {
            inner.Flush();
            Step("flushed", durable: true);
        }

        public void Truncate(long length)
        {
            inner.Truncate(length);
            Step($"truncated to {length}", durable: false);
        }

        public void Reserve(long size, bool durable = true)
        {
            inner.Reserve(size, durable);
            Step(durable ? $"reserved {size} bytes (flushed) in" : $"reserved {size} bytes (not flushed) in", durable);
        }

        public void Dispose() => inner.Dispose();
    }
}
