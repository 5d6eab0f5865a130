using Microsoft.Win32.SafeHandles;

namespace FastMcp.Audit.Storage;

/// <summary>
/// The real file system: segment files are written at positions (they may carry a zero-filled
/// reserve past the appended end) and flushed with fdatasync. Renames and file creations also fsync the directory, so a sealed segment's name, a
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

    public IAuditFile CreateAppend(string path)
    {
        if (File.Exists(path)) File.Delete(path);
        return new PhysicalAuditFile(path);
    }

    public void SyncDirectory(string directory) => DirectorySync.Flush(directory);

    public byte[] ReadAllBytes(string path) => File.ReadAllBytes(path);

    public int ReadAt(string path, long offset, Span<byte> destination)
    {
        // FileShare.ReadWrite|Delete: the writer appends to and renames the segment while it is read.
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        int total = 0;
        while (total < destination.Length)
        {
            int n = RandomAccess.Read(handle, destination[total..], offset + total);
            if (n == 0) break;
            total += n;
        }
        return total;
    }

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

    /// <summary>
    /// Positional writes at the appended end (the file may hold a zero-filled reserve past it);
    /// <see cref="Flush"/> is fdatasync; <see cref="AppendDurably"/> is both in one pwritev2 (RWF_DSYNC).
    /// </summary>
    private sealed class PhysicalAuditFile : IAuditFile
    {
        private const int ZeroChunk = 256 * 1024;
        // One chunk is written as ZeroChunk / ZeroSlice views of one small array (one pwritev): the kernel reads the same
        // few pages for every slice, where a 256 KiB array cost 64 page faults on the start's first reserve.
        private const int ZeroSlice = 16 * 1024;
        private static readonly byte[] Zeros = new byte[ZeroSlice];
        private static readonly ReadOnlyMemory<byte>[] ZeroChunkSlices = ZeroSlices(ZeroChunk);
        private readonly SafeFileHandle _handle;
        private long _length;
        private long _size;
        // Bytes appended since the last flush: a durable write flushes its own range only, so it is one call only without them.
        private bool _unflushed;

        public PhysicalAuditFile(string path)
        {
            _handle = File.OpenHandle(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read);
            _size = RandomAccess.GetLength(_handle);
            _length = _size;
        }

        public long Length => _length;

        public long Reserved => _size;

        public void Append(ReadOnlySpan<byte> data)
        {
            _unflushed = true;
            RandomAccess.Write(_handle, data, _length);
            Advance(data.Length);
        }

        private void Advance(int written)
        {
            _length += written;
            if (_length > _size) _size = _length;
        }

        public void Flush()
        {
            FileDataSync.Flush(_handle);
            _unflushed = false;
        }

        /// <summary>One pwritev2 with RWF_DSYNC where the platform has it, else pwrite and fdatasync.</summary>
        public void AppendDurably(ReadOnlySpan<byte> data)
        {
            if (!_unflushed && DurableWrite.TryWrite(_handle, data, _length))
            {
                Advance(data.Length);
                return;
            }
            Append(data);
            Flush();
        }

        public void Truncate(long length)
        {
            RandomAccess.SetLength(_handle, length);
            _length = length;
            _size = length;
        }

        public void Reserve(long size, bool durable = true)
        {
            if (size <= _size) return;
            // Real zero bytes, not fallocate: ext4 and xfs mark fallocated blocks unwritten, and the first write
            // into them is a metadata change that every fdatasync would have to commit.
            try
            {
                for (long at = _size; at < size; at += ZeroChunk)
                {
                    int length = (int)Math.Min(ZeroChunk, size - at);
                    RandomAccess.Write(_handle, length == ZeroChunk ? ZeroChunkSlices : ZeroSlices(length), at);
                }
                // Zeros not flushed now wait for the next Flush: a durable append must not flush only its own range.
                if (durable) FileDataSync.Flush(_handle);
                else _unflushed = true;
            }
            catch (IOException)
            {
                // Whatever part of the zeros was written is past the appended end; the caller cuts it.
                _size = RandomAccess.GetLength(_handle);
                throw;
            }
            _size = size;
        }

        public void Dispose() => _handle.Dispose();

        /// <summary>Views of <see cref="Zeros"/> that add up to <paramref name="length"/> bytes.</summary>
        private static ReadOnlyMemory<byte>[] ZeroSlices(int length)
        {
            var slices = new ReadOnlyMemory<byte>[(length + ZeroSlice - 1) / ZeroSlice];
            for (int i = 0; i < slices.Length; i++) slices[i] = Zeros.AsMemory(0, Math.Min(ZeroSlice, length - i * ZeroSlice));
            return slices;
        }
    }
}
