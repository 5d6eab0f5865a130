using FastMcp.Audit.Format;
using FastMcp.Audit.Storage;

namespace FastMcp.Audit.Tests;

/// <summary>
/// Issue #14, target 3: a group commit writes its frame and makes it durable in one call on the segment file
/// (<see cref="IAuditFile.AppendDurably"/>; pwritev2 with RWF_DSYNC on Linux), where it made a pwrite and an fdatasync.
/// </summary>
public sealed class DurableAppendTests : IDisposable
{
    private readonly TempAuditDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>The real file system, with the calls made on segment files counted.</summary>
    private sealed class CallCountingFileSystem : IAuditFileSystem
    {
        private readonly PhysicalAuditFileSystem _inner = PhysicalAuditFileSystem.Instance;
        public int Appends, Flushes, DurableAppends;

        public IAuditFile OpenAppend(string path) => new CountedFile(this, _inner.OpenAppend(path));
        public IAuditFile CreateAppend(string path) => new CountedFile(this, _inner.CreateAppend(path));
        public void SyncDirectory(string directory) => _inner.SyncDirectory(directory);
        public byte[] ReadAllBytes(string path) => _inner.ReadAllBytes(path);
        public int ReadAt(string path, long offset, Span<byte> destination) => _inner.ReadAt(path, offset, destination);
        public void ReplaceDurably(string path, ReadOnlySpan<byte> content) => _inner.ReplaceDurably(path, content);
        public void Rename(string from, string to) => _inner.Rename(from, to);
        public void Delete(string path) => _inner.Delete(path);
        public bool Exists(string path) => _inner.Exists(path);
        public IReadOnlyList<string> ListFileNames(string directory) => _inner.ListFileNames(directory);
        public void CreateDirectory(string path) => _inner.CreateDirectory(path);
        public DateTime GetLastWriteTimeUtc(string path) => _inner.GetLastWriteTimeUtc(path);

        private sealed class CountedFile(CallCountingFileSystem owner, IAuditFile inner) : IAuditFile
        {
            public long Length => inner.Length;
            public long Reserved => inner.Reserved;
            public void Append(ReadOnlySpan<byte> data) { Interlocked.Increment(ref owner.Appends); inner.Append(data); }
            public void Flush() { Interlocked.Increment(ref owner.Flushes); inner.Flush(); }
            public void AppendDurably(ReadOnlySpan<byte> data) { Interlocked.Increment(ref owner.DurableAppends); inner.AppendDurably(data); }
            public void Truncate(long length) => inner.Truncate(length);
            public void Reserve(long size, bool durable = true) => inner.Reserve(size, durable);
            public void Dispose() => inner.Dispose();
        }
    }

    [Fact]
    public async Task Each_strict_group_commit_is_one_durable_append_not_a_write_and_a_flush()
    {
        var fs = new CallCountingFileSystem();
        const int appends = 20;
        int appendsBefore, flushesBefore;
        await using (var log = await AuditLog.OpenAsync(_dir.Options(), fs))
        {
            // The start writes its frames and makes them durable together (one flush before accept); from here on
            // every frame is one durable append.
            int durableBefore = fs.DurableAppends;
            appendsBefore = fs.Appends;
            flushesBefore = fs.Flushes;
            var e = new AuditEvent();
            // One at a time: every append is a group commit of its own.
            for (int i = 0; i < appends; i++) { SampleEvents.Fill(e, i); await log.AppendAsync(e); }
            Assert.Equal(appends, fs.DurableAppends - durableBefore);
            Assert.Equal(appends, log.Statistics.Fsyncs - 1); // and the start's AuditStarted
        }
        // Records, checkpoints and the seal: none is a separate write and flush.
        Assert.Equal(0, fs.Appends - appendsBefore);
        Assert.Equal(0, fs.Flushes - flushesBefore);
        var (report, records) = await LogReading.VerifyFolderAsync(_dir);
        Assert.True(report.Valid, report.FirstError?.Message);
        Assert.Equal(appends + 2, records.Count);
    }

    [Fact]
    public void A_durable_append_writes_at_the_appended_end_within_the_reserve_and_past_it()
    {
        string path = Path.Combine(_dir.Root, "a.open");
        using (IAuditFile file = PhysicalAuditFileSystem.Instance.OpenAppend(path))
        {
            file.Reserve(4096);
            file.AppendDurably("abc"u8);
            Assert.Equal(3, file.Length);
            Assert.Equal(4096, file.Reserved);
            if (OperatingSystem.IsLinux()) Assert.True(DurableWrite.Supported, "pwritev2 with RWF_DSYNC was refused on this Linux");

            // Bytes appended without a flush are flushed with the next durable append (it cannot be one range then).
            file.Append("de"u8);
            file.AppendDurably("fg"u8);
            Assert.Equal(7, file.Length);

            // Past the reserve the file grows (the flush then also covers its size).
            var big = new byte[6000];
            Array.Fill(big, (byte)'x');
            file.AppendDurably(big);
            Assert.Equal(6007, file.Length);
            Assert.Equal(6007, file.Reserved);
        }
        var data = File.ReadAllBytes(path);
        Assert.Equal(6007, data.Length);
        Assert.Equal("abcdefg"u8.ToArray(), data[..7]);
        Assert.All(data[7..], b => Assert.Equal((byte)'x', b));
    }

    [Fact]
    public void A_durable_write_that_fails_says_why_and_leaves_the_path_in_use()
    {
        string path = Path.Combine(_dir.Root, "read-only");
        File.WriteAllBytes(path, [1, 2, 3]);
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read);
        if (!OperatingSystem.IsLinux())
        {
            Assert.False(DurableWrite.TryWrite(handle, "abc"u8, 0));
            return;
        }
        var error = Assert.Throws<IOException>(() => DurableWrite.TryWrite(handle, "abc"u8, 3));
        Assert.Contains("errno 9", error.Message); // EBADF: not open for writing
        // A failure of the write itself does not turn the one-call path off.
        Assert.True(DurableWrite.Supported);
        Assert.Equal(new byte[] { 1, 2, 3 }, File.ReadAllBytes(path));
    }
}
