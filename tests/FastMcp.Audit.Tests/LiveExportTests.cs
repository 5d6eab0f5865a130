using FastMcp.Audit.Format;
using System.Text.Json;
using FastMcp.Audit.Shipping;

namespace FastMcp.Audit.Tests;

/// <summary>
/// audit.export: records reach a real HTTP endpoint after they are durable, in order, with their position,
/// at least once across outages and restarts, and a shipped segment stays local until it is exported.
/// </summary>
public sealed class LiveExportTests : IAsyncLifetime
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(20);
    private readonly TempAuditDirectory _dir = new();
    private readonly HttpRecordReceiver _siem = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await _siem.DisposeAsync();
        _dir.Dispose();
    }

    private AuditOptions Options(string format = "ndjson")
    {
        var options = _dir.Options();
        string token = Path.Combine(_dir.Root, "siem-token");
        File.WriteAllText(token, "s3cret-token\n");
        options.Export = new AuditExportOptions { Url = _siem.Url, Format = format, TokenFile = token, BatchRecords = 4, FlushMs = 20, TimeoutMs = 2000, MaxBackoffMs = 50 };
        return options;
    }

    private static async Task AppendAsync(AuditLog log, int from, int count)
    {
        var e = new AuditEvent();
        for (int i = from; i < from + count; i++)
        {
            SampleEvents.Fill(e, i);
            await log.AppendAsync(e);
        }
    }

    private static (string Chain, long Segment, long Seq, JsonElement Record) Parse(string line)
    {
        var r = JsonDocument.Parse(line).RootElement;
        return (r.GetProperty("chain").GetString()!, r.GetProperty("segment").GetInt64(), r.GetProperty("seq").GetInt64(), r);
    }

    [Fact]
    public async Task Every_record_arrives_in_order_with_its_position_as_replay_prints_it()
    {
        await using (var log = await AuditLog.OpenAsync(Options()))
        {
            await AppendAsync(log, 0, 10);
            // AuditStarted (seq 0) and the ten exchanges.
            var lines = await _siem.WaitForLinesAsync(11, Limit);
            Assert.Equal(11, lines.Count);
            var parsed = lines.Select(Parse).ToList();
            Assert.Equal(Enumerable.Range(0, 11).Select(i => (long)i), parsed.Select(p => p.Seq));
            Assert.All(parsed, p => Assert.Equal("gw-1", p.Chain));
            Assert.All(parsed, p => Assert.Equal(1, p.Segment));
            Assert.Equal("AuditStarted", parsed[0].Record.GetProperty("type").GetString());
            Assert.Equal("get_weather", parsed[1].Record.GetProperty("component").GetProperty("target").GetString());
            Assert.All(_siem.Accepted, p => Assert.Equal("Bearer s3cret-token", p.Header("Authorization")));
            Assert.All(_siem.Accepted, p => Assert.StartsWith("application/x-ndjson", p.Header("Content-Type")));
            // The receiver holds the lines before its answer reaches the exporter, which counts them on that answer.
            using (var cts = new CancellationTokenSource(Limit))
                while (log.Exporter!.ExportedRecords < 11 && !cts.IsCancellationRequested) await Task.Delay(5);
            Assert.True(log.Exporter!.ExportedRecords >= 11, $"exported {log.Exporter.ExportedRecords}");
        }
        // The same JSON replay prints, plus the segment.
        var replay = new StringWriter();
        Assert.Equal(0, await ReplayCommand.RunAsync([_dir.Segments, "--format", "jsonl"], replay, new StringWriter()));
        // Replay orders by record time (the samples carry fixed times); compare record by record.
        var replayed = replay.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).ToDictionary(l => Parse(l.Replace("{\"chain\":\"gw-1\",", "{\"chain\":\"gw-1\",\"segment\":0,", StringComparison.Ordinal)).Seq);
        var exported = _siem.Lines();
        for (int i = 0; i < 11; i++)
            Assert.Equal(replayed[i], exported[i].Replace(",\"segment\":1,", ",", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_export_reads_each_segment_byte_about_once_not_once_per_pass()
    {
        // A segment far larger than what is written: the old export re-read the whole open file (with its zero-filled
        // reserve) on every pass; reading on from the last complete frame costs the new bytes and one probe per pass.
        var fs = new CountingFileSystem();
        const int Batches = 40;
        long sealedBytes;
        await using (var log = await AuditLog.OpenAsync(Options(), fs))
        {
            for (int b = 0; b < Batches; b++)
            {
                await AppendAsync(log, b * 10, 10);
                using var cts = new CancellationTokenSource(Limit);
                while (log.Exporter!.CursorSequence < 1 + (b + 1) * 10 && !cts.IsCancellationRequested) await Task.Delay(5);
                Assert.Equal(1 + (b + 1) * 10, log.Exporter.CursorSequence);
            }
        }
        sealedBytes = new FileInfo(Path.Combine(_dir.ChainDir(), SegmentNames.Sealed(1))).Length;
        var seqs = _siem.Lines().Select(l => Parse(l).Seq).Distinct().Order().ToList();
        Assert.Equal(Enumerable.Range(0, 1 + Batches * 10).Select(i => (long)i), seqs.Take(1 + Batches * 10));
        // Each pass lists the folder once and may probe past the last frame with one small read.
        long bound = 2 * sealedBytes + fs.Listings * 8192;
        Assert.True(fs.SegmentBytesRead <= bound, $"read {fs.SegmentBytesRead} bytes of a {sealedBytes}-byte segment over {fs.Listings} listings (bound {bound})");
    }

    [Fact]
    public async Task Segments_sealed_while_they_are_read_are_followed_and_each_read_about_once()
    {
        // Small segments: the writer seals and renames .open to .seg under the reader, which goes on at the same offset.
        var fs = new CountingFileSystem();
        var options = Options();
        options.MaxSegmentBytes = 8192;
        const int Batches = 30;
        await using (var log = await AuditLog.OpenAsync(options, fs))
        {
            for (int b = 0; b < Batches; b++)
            {
                await AppendAsync(log, b * 10, 10);
                using var cts = new CancellationTokenSource(Limit);
                while (log.Exporter!.LagRecords > 0 && !cts.IsCancellationRequested) await Task.Delay(5);
                Assert.Equal(0, log.Exporter.LagRecords);
            }
        }
        var sealedFiles = Directory.GetFiles(_dir.ChainDir(), "*" + SegmentNames.SealedExtension);
        Assert.True(sealedFiles.Length >= 3, $"only {sealedFiles.Length} segment(s): the test needs rotations");
        long total = sealedFiles.Sum(f => new FileInfo(f).Length);
        var seqs = _siem.Lines().Select(l => Parse(l).Seq).ToList();
        Assert.Equal(Enumerable.Range(0, (int)seqs.Max() + 1).Select(i => (long)i), seqs.Distinct().Order());
        Assert.True(seqs.Max() >= Batches * 10);
        long bound = 2 * total + fs.Listings * 8192;
        Assert.True(fs.SegmentBytesRead <= bound, $"read {fs.SegmentBytesRead} bytes of {total} segment bytes over {fs.Listings} listings (bound {bound})");
    }

    [Fact]
    public async Task A_graceful_stop_sends_what_is_durable_including_the_stop_record()
    {
        var options = Options();
        // No pass of the loop after the first: only the stop's final attempt can send the later records.
        options.Export!.FlushMs = 600_000;
        options.Export.MaxBackoffMs = 600_000;
        await using (var log = await AuditLog.OpenAsync(options))
        {
            await _siem.WaitForLinesAsync(1, Limit);
            await AppendAsync(log, 0, 3);
        }
        var lines = _siem.Lines();
        Assert.Equal(Enumerable.Range(0, 5).Select(i => (long)i), lines.Select(l => Parse(l).Seq).Distinct().Order());
        Assert.Equal("AuditStopped", Parse(lines[^1]).Record.GetProperty("type").GetString());
    }

    [Fact]
    public async Task Records_written_while_the_endpoint_is_down_arrive_when_it_returns_none_lost()
    {
        await using var log = await AuditLog.OpenAsync(Options());
        await _siem.WaitForLinesAsync(1, Limit);
        await _siem.Stop();
        await AppendAsync(log, 0, 9);
        _siem.Status = 503;
        _siem.Start();
        // Refused while 503: nothing accepted, the cursor stays.
        using (var cts = new CancellationTokenSource(Limit))
            while (log.Exporter!.FailedPosts < 2 && !cts.IsCancellationRequested) await Task.Delay(10);
        Assert.True(log.Exporter!.FailedPosts >= 2);
        Assert.True(log.Exporter.LagRecords > 0);
        _siem.Status = 200;
        var lines = await _siem.WaitForLinesAsync(10, Limit);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (long)i), lines.Select(l => Parse(l).Seq).Distinct().Order());
    }

    [Fact]
    public async Task A_redirect_to_another_host_is_a_failed_post_not_followed_and_the_records_wait()
    {
        // The endpoint (or whoever answers for it) sends the log elsewhere: nothing may go there, and only the
        // configured endpoint's own 2xx acknowledges.
        await using var elsewhere = new HttpRecordReceiver();
        _siem.Status = 307;
        _siem.Location = elsewhere.Url;
        await using var log = await AuditLog.OpenAsync(Options());
        await AppendAsync(log, 0, 3);
        using (var cts = new CancellationTokenSource(Limit))
            while (log.Exporter!.FailedPosts < 2 && !cts.IsCancellationRequested) await Task.Delay(10);
        Assert.True(log.Exporter!.FailedPosts >= 2);
        Assert.Equal(0, elsewhere.PostsSeen);
        Assert.Equal(0, log.Exporter.ExportedRecords);
        Assert.True(log.Exporter.LagRecords > 0);
        Assert.Contains("307", log.Exporter.LastError, StringComparison.Ordinal);

        _siem.Status = 200;
        _siem.Location = null;
        var lines = await _siem.WaitForLinesAsync(4, Limit);
        Assert.Equal(Enumerable.Range(0, 4).Select(i => (long)i), lines.Select(l => Parse(l).Seq).Distinct().Order());
        Assert.Equal(0, elsewhere.PostsSeen);
    }

    [Fact]
    public async Task A_restart_resumes_from_the_acknowledged_cursor()
    {
        long acked;
        await using (var log = await AuditLog.OpenAsync(Options()))
        {
            await AppendAsync(log, 0, 7);
            await _siem.WaitForLinesAsync(8, Limit);
            using var cts = new CancellationTokenSource(Limit);
            while (log.Exporter!.LagRecords > 0 && !cts.IsCancellationRequested) await Task.Delay(10);
            acked = log.Exporter.CursorSequence;
            Assert.Equal(8, acked);
        }
        int before = _siem.Lines().Count;
        // The stop itself records AuditStopped; nothing acknowledged before may come again.
        await using (var log = await AuditLog.OpenAsync(Options()))
        {
            await AppendAsync(log, 100, 3);
            var all = await _siem.WaitForLinesAsync(before + 5, Limit);
            var seqs = all.Select(l => Parse(l).Seq).ToList();
            Assert.Equal(Enumerable.Range(0, (int)seqs.Max() + 1).Select(i => (long)i), seqs.Distinct().Order());
            // At least once: only what was sent after the last acknowledgement may come twice (a stop can cut a POST short).
            Assert.All(seqs.GroupBy(q => q).Where(g => g.Count() > 1), g => Assert.True(g.Key >= acked, $"seq {g.Key} was acknowledged and sent again"));
            Assert.Contains(all.Skip(before), l => Parse(l).Segment == 2);
        }
        Assert.True(File.Exists(Path.Combine(_dir.ChainDir(), "export-cursor")));
    }

    [Fact]
    public async Task Splunk_hec_posts_wrapped_events_with_the_splunk_header()
    {
        await using var log = await AuditLog.OpenAsync(Options("splunk-hec"));
        await AppendAsync(log, 0, 2);
        using (var cts = new CancellationTokenSource(Limit))
            while (_siem.Accepted.Sum(p => p.Body.Split("{\"time\":").Length - 1) < 3 && !cts.IsCancellationRequested) await Task.Delay(10);
        var post = _siem.Accepted.First();
        Assert.Equal("Splunk s3cret-token", post.Header("Authorization"));
        var events = new List<JsonElement>();
        var reader = new Utf8JsonReader(System.Text.Encoding.UTF8.GetBytes(string.Concat(_siem.Accepted.Select(p => p.Body))), new JsonReaderOptions { AllowMultipleValues = true });
        while (reader.Read()) events.Add(JsonElement.ParseValue(ref reader));
        Assert.Equal(3, events.Count);
        Assert.All(events, e => Assert.Equal("fastmcp", e.GetProperty("source").GetString()));
        Assert.All(events, e => Assert.Equal("fastmcp:audit", e.GetProperty("sourcetype").GetString()));
        Assert.Equal(JsonValueKind.Number, events[1].GetProperty("time").ValueKind);
        Assert.Equal(1, events[1].GetProperty("event").GetProperty("seq").GetInt64());
        Assert.Equal("gw-1", events[1].GetProperty("event").GetProperty("chain").GetString());
    }

    [Theory]
    [InlineData("ftp://siem.example/x", "ndjson", "export.url")]
    [InlineData("http://siem.example.com/x", "ndjson", "export.url")]
    [InlineData("https://siem.example.com/x", "csv", "export.format")]
    public void A_malformed_section_names_the_field(string url, string format, string field)
    {
        var e = Assert.Throws<ArgumentException>(new AuditExportOptions { Url = url, Format = format }.Validate);
        Assert.Equal(field, e.ParamName);
        Assert.Throws<ArgumentException>(new AuditExportOptions { Url = "https://s.example/x", BatchRecords = 0 }.Validate);
        Assert.Equal("export.tokenFile", Assert.Throws<ArgumentException>(new AuditExportOptions { Url = "https://s.example/x", TokenFile = Path.Combine(_dir.Root, "none") }.Validate).ParamName);
    }

    [Fact]
    public async Task Shipping_with_delete_keeps_a_segment_that_is_not_exported()
    {
        var options = Options();
        options.MaxSegmentBytes = 4096;
        string archive = Path.Combine(_dir.Root, "archive");
        options.Shipping = new ShippingOptions { Target = ShippingTarget.Directory, Directory = archive, ScanInterval = TimeSpan.FromHours(1), InitialBackoff = TimeSpan.FromMilliseconds(1) };
        await _siem.Stop();
        await using (var log = await AuditLog.OpenAsync(options))
        {
            await AppendAsync(log, 0, 30);
            var local = Directory.GetFiles(_dir.ChainDir(), "*.seg").Select(Path.GetFileName).Order().ToArray();
            var pass = await log.Shipper!.ShipPendingAsync();
            Assert.True(local.Length >= 2);
            // Shipped, but the SIEM has none of it: every sealed segment stays on the host.
            Assert.Equal(0, pass.DeletedLocally);
            Assert.Equal(local, Directory.GetFiles(Path.Combine(archive, "gw-1"), "*.seg").Select(Path.GetFileName).Order().Take(local.Length).ToArray());
            Assert.All(local, name => Assert.True(File.Exists(Path.Combine(_dir.ChainDir(), name!))));
            _siem.Start();
            await _siem.WaitForLinesAsync(31, Limit);
            using var cts = new CancellationTokenSource(Limit);
            while (Directory.GetFiles(_dir.ChainDir(), "*.seg").Length > 0 && !cts.IsCancellationRequested)
            {
                await log.Shipper.ShipPendingAsync();
                await Task.Delay(20);
            }
            Assert.Empty(Directory.GetFiles(_dir.ChainDir(), "*.seg"));
        }
        Assert.Equal(Enumerable.Range(0, 31).Select(i => (long)i), _siem.Lines().Select(l => Parse(l).Seq).Distinct().Order().Take(31));
    }
}
