namespace FastMcp.Audit.Storage;

/// <summary>
/// The file operations the audit writer uses: a seam so tests can inject disk-full and I/O faults.
/// Every call may throw <see cref="IOException"/>.
/// </summary>
public interface IAuditFileSystem
{
    /// <summary>Opens (or creates) a file for appending at its current end; a file it creates has a durable name.</summary>
    IAuditFile OpenAppend(string path);
    /// <summary>
    /// Creates a new, empty file for appending (an existing one is replaced) whose name is not made durable yet: the
    /// caller does that with <see cref="SyncDirectory"/> once the file's first bytes are, so one folder sync covers a
    /// new segment instead of one before its first bytes and more after them.
    /// </summary>
    IAuditFile CreateAppend(string path);
    /// <summary>Makes the entries of <paramref name="directory"/> (created, renamed, deleted names) durable.</summary>
    void SyncDirectory(string directory);
    byte[] ReadAllBytes(string path);
    /// <summary>
    /// Reads from <paramref name="offset"/> until <paramref name="destination"/> is full or the file ends; the bytes read
    /// (fewer than asked only at the end). Lets a reader go on from where it stopped instead of reading a whole segment again.
    /// </summary>
    int ReadAt(string path, long offset, Span<byte> destination);
    /// <summary>Replaces a small file atomically and durably (write temp, fsync, rename).</summary>
    void ReplaceDurably(string path, ReadOnlySpan<byte> content);
    /// <summary>Renames without overwriting an existing destination.</summary>
    void Rename(string from, string to);
    void Delete(string path);
    bool Exists(string path);
    /// <summary>File names (not paths) directly in <paramref name="directory"/>.</summary>
    IReadOnlyList<string> ListFileNames(string directory);
    void CreateDirectory(string path);
    DateTime GetLastWriteTimeUtc(string path);
}

/// <summary>
/// An append-only handle on one segment file. The file may be longer than what was appended: a
/// zero-filled reserve (<see cref="Reserve"/>) past <see cref="Length"/>, so that a durable append
/// changes no file size.
/// </summary>
public interface IAuditFile : IDisposable
{
    /// <summary>The end of what was appended (where the next append goes), not counting a zero-filled reserve.</summary>
    long Length { get; }
    /// <summary>The size of the file on disk: <see cref="Length"/> plus any zero-filled reserve.</summary>
    long Reserved { get; }
    /// <summary>
    /// Writes <paramref name="data"/> at <see cref="Length"/>. When it throws, part of the data may be on disk
    /// (a short write on a full disk) although <see cref="Length"/> did not move: the caller must
    /// <see cref="Truncate"/> before it writes or seals anything else.
    /// </summary>
    void Append(ReadOnlySpan<byte> data);
    /// <summary>Makes everything appended so far durable (fdatasync: the data, and the size when it changed).</summary>
    void Flush();
    /// <summary>
    /// <see cref="Append"/> then <see cref="Flush"/>: when it returns, everything appended so far is durable. A file may
    /// do both in one system call (the real one does: a group commit's write and flush, issue #14). Fails as either would.
    /// </summary>
    void AppendDurably(ReadOnlySpan<byte> data)
    {
        Append(data);
        Flush();
    }
    /// <summary>Cuts the file back to <paramref name="length"/> (removes a partly written frame and any reserve).</summary>
    void Truncate(long length);
    /// <summary>
    /// Grows the file with zero bytes to at least <paramref name="size"/>; <see cref="Length"/> is unchanged. With
    /// <paramref name="durable"/> they are flushed at once; without, the next <see cref="Flush"/> does it.
    /// </summary>
    void Reserve(long size, bool durable = true);
}
