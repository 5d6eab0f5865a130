using System.Collections.Concurrent;
using FastMcp.Audit.Format;

namespace FastMcp.Audit.Tests;

/// <summary>
/// A log that fails to open, or whose last shipping pass fails at stop, releases what it holds: the new segment's
/// file handle, the exporter's, store's and witness's HTTP clients (a connection to a real listener closes) and the
/// chain's writer lock (the chain opens again in the same process).
/// </summary>
public sealed class AuditLogReleaseTests : IAsyncLifetime
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(10);
    private readonly TempAuditDirectory _dir = new();
    private readonly HttpRecordReceiver _siem = new();
    private readonly HttpRecordReceiver _witness = new();
    private readonly FaultyFileSystem _fs = new();
    private readonly ConcurrentQueue<string> _problems = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await _siem.DisposeAsync();
        await _witness.DisposeAsync();
        _dir.Dispose();
    }

    /// <summary>Export to the SIEM, shipping to a folder, checkpoints published there and POSTed to the witness.</summary>
    private AuditOptions Options()
    {
        var options = _dir.Options();
        options.Export = new AuditExportOptions { Url = _siem.Url, FlushMs = 20, MaxBackoffMs = 50, TimeoutMs = 2000 };
        options.Shipping = new ShippingOptions
        {
            Directory = Path.Combine(_dir.Root, "shipped"),
            ScanInterval = TimeSpan.FromHours(1),
            InitialBackoff = TimeSpan.FromMilliseconds(10),
            OnProblem = _problems.Enqueue,
        };
        options.Anchoring.WitnessUrl = _witness.Url;
        options.Anchoring.OnProblem = _problems.Enqueue;
        return options;
    }

    /// <summary>The files this process holds open under <paramref name="folder"/> (Linux: /proc/self/fd).</summary>
    private static List<string> OpenFilesUnder(string folder)
    {
        var open = new List<string>();
        foreach (string fd in Directory.EnumerateFileSystemEntries("/proc/self/fd"))
        {
            string? target;
            try { target = new FileInfo(fd).LinkTarget; }
            catch (IOException) { continue; } // closed meanwhile
            if (target is not null && target.StartsWith(folder + "/", StringComparison.Ordinal)) open.Add(target);
        }
        return open;
    }

    private static async Task WaitUntilAsync(Func<bool> done)
    {
        using var cts = new CancellationTokenSource(Limit);
        while (!done() && !cts.IsCancellationRequested) await Task.Delay(10);
    }

    [Fact]
    public async Task A_start_that_fails_after_the_segment_and_the_background_parts_are_made_releases_them()
    {
        Assert.True(OperatingSystem.IsLinux(), "reads the open files from /proc/self/fd");
        var options = Options();
        // A full disk at the first checkpoint: the new segment is open and the exporter, shipper and publisher exist.
        _fs.FailWhen = (operation, path) => operation == "replace" && Path.GetFileName(path) == SegmentNames.CheckpointName;

        await Assert.ThrowsAsync<IOException>(() => AuditLog.OpenAsync(options, _fs));
        Assert.Equal(1, _fs.FailedWrites);
        Assert.Empty(OpenFilesUnder(_dir.ChainDir()));

        // The chain opens again in this process once the disk has room; the unfinished segment is recovered.
        _fs.FailWhen = null;
        await using (var log = await AuditLog.OpenAsync(options, _fs))
        {
            Assert.True(log.IsWritable);
            Assert.StartsWith("crash recovery", log.StartReport.Summary, StringComparison.Ordinal);
        }
        Assert.Empty(OpenFilesUnder(_dir.ChainDir()));
    }

    [Fact]
    public async Task An_export_cursor_that_does_not_parse_stops_the_start_and_leaves_nothing_open()
    {
        Assert.True(OperatingSystem.IsLinux(), "reads the open files from /proc/self/fd");
        Directory.CreateDirectory(_dir.ChainDir());
        string cursor = Path.Combine(_dir.ChainDir(), FastMcp.Audit.Export.ExportCursor.FileName);
        File.WriteAllText(cursor, "not a cursor\n");

        var e = await Assert.ThrowsAsync<InvalidDataException>(() => AuditLog.OpenAsync(Options(), _fs));
        Assert.Contains("is not an export cursor", e.Message, StringComparison.Ordinal);
        Assert.Empty(OpenFilesUnder(_dir.ChainDir()));
        Assert.Equal("not a cursor\n", File.ReadAllText(cursor));
    }

    [Fact]
    public async Task A_last_shipping_pass_that_fails_at_stop_still_closes_the_witness_connection_and_frees_the_chain()
    {
        var options = Options();
        var log = await AuditLog.OpenAsync(options, _fs);
        var e = new AuditEvent();
        SampleEvents.Fill(e, 1);
        await log.AppendAsync(e);
        // The first checkpoint reached the witness over a kept-alive connection.
        await WaitUntilAsync(() => _witness.Accepted.Count > 0);
        Assert.NotEmpty(_witness.Accepted);
        Assert.Equal(1, _witness.OpenConnections);

        // The segment sealed at stop cannot be read for the last pass (its permissions changed under the gateway).
        _fs.DenyReadWhen = path => path.EndsWith(".seg", StringComparison.Ordinal);
        await log.DisposeAsync();

        await WaitUntilAsync(() => _witness.OpenConnections == 0);
        Assert.Equal(0, _witness.OpenConnections);
        Assert.Contains(_problems, p => p.StartsWith("audit shipping: the last pass at stop failed", StringComparison.Ordinal));
        // Kept locally, and shipped by the next start, which the released lock allows in this process.
        Assert.NotEmpty(Directory.GetFiles(_dir.ChainDir(), "*.seg"));
        _fs.DenyReadWhen = null;
        await using (var again = await AuditLog.OpenAsync(options, _fs))
        {
            var pass = await again.Shipper!.ShipPendingAsync();
            Assert.Equal(0, pass.Failed);
        }
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(_dir.Root, "shipped", "gw-1"), "*.seg"));
    }
}
