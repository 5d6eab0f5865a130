using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using FastMcp.Audit.Format;
using FastMcp.Audit.Reading;
using FastMcp.Audit.Recording;

namespace FastMcp.Audit.Tests;

/// <summary>
/// The reader's limits are the format's: a record body of at most 16 MiB, a frame payload of at most 64 MiB. The
/// writer must never make a record or a frame its own verifier rejects (or its crash recovery cuts as torn tail).
/// </summary>
public sealed class RecordSizeLimitTests : IDisposable
{
    private readonly TempAuditDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>A JSON string payload of exactly <paramref name="bytes"/> bytes (compresses to almost nothing).</summary>
    private static byte[] JsonString(int bytes)
    {
        var payload = new byte[bytes];
        payload.AsSpan().Fill((byte)'a');
        payload[0] = (byte)'"';
        payload[^1] = (byte)'"';
        return payload;
    }

    [Fact]
    public async Task A_batch_larger_than_the_frame_limit_is_written_as_several_frames_that_verify()
    {
        var options = _dir.Options(durability: AuditDurability.Batched);
        options.BatchedFlushBytes = 64 * 1024 * 1024;
        // The whole 70 MiB stays queued: the bound on what is answered and not yet durable must hold it.
        options.BatchedMaxPendingBytes = 128 * 1024 * 1024;
        options.BatchedFlushInterval = TimeSpan.FromHours(1);
        var e = new AuditEvent();
        await using (var log = await AuditLog.OpenAsync(options))
        {
            // Five records of 14 MiB queue up as one batch of 70 MiB: more than one frame may hold.
            for (int i = 0; i < 5; i++)
            {
                SampleEvents.Fill(e, i, subject: "big");
                e.ResponsePayload = JsonString(14 * 1024 * 1024);
                await log.AppendAsync(e);
            }
        }

        var (report, records) = await LogReading.VerifyFolderAsync(_dir);
        Assert.True(report.Valid, report.FirstError?.Message);
        Assert.Equal(5, records.Count(r => r.Subject == "big"));
        int recordFrames = 0;
        var data = File.ReadAllBytes(Path.Combine(_dir.ChainDir(), SegmentNames.Sealed(1)));
        for (int at = 0; at < data.Length;)
        {
            Assert.True(FrameHeader.TryRead(data.AsSpan(at), out var header, out var error), error);
            Assert.InRange(header.RawLength, 1, FrameHeader.MaxPayload);
            if (header.Kind == FrameKind.Records) recordFrames++;
            at += FrameHeader.Size + header.StoredLength;
        }
        Assert.True(recordFrames >= 3, $"{recordFrames} records frames"); // started, the big ones in two or more, stopped
    }

    [Fact]
    public async Task A_response_over_the_record_limit_is_recorded_truncated_with_its_length_and_sha256()
    {
        var response = JsonString(RecordLayout.MaxBody + 1024);
        var e = new AuditEvent();
        await using (var log = await AuditLog.OpenAsync(_dir.Options()))
        {
            SampleEvents.Fill(e, 1, subject: "huge");
            e.ResponsePayload = response;
            await log.AppendAsync(e);
            Assert.True(log.IsWritable);
        }

        var (report, records) = await LogReading.VerifyFolderAsync(_dir);
        Assert.True(report.Valid, report.FirstError?.Message);
        var rec = Assert.Single(records, r => r.Subject == "huge");
        Assert.True(Encoding.UTF8.GetByteCount(rec.Json) + RecordLayout.BodyPrefix <= RecordLayout.MaxBody);
        using var doc = JsonDocument.Parse(rec.Json);
        var json = doc.RootElement;
        Assert.False(json.TryGetProperty("response", out _));
        Assert.Equal("tools/call", json.GetProperty("request").GetProperty("method").GetString()); // the small payload is kept whole
        var truncated = json.GetProperty("responseTruncated");
        Assert.Equal(response.Length, truncated.GetProperty("length").GetInt64());
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(response)), truncated.GetProperty("sha256").GetString());
        var head = truncated.GetProperty("head").GetBytesFromBase64();
        Assert.True(head.Length > RecordLayout.MaxBody / 2, $"head of {head.Length} bytes");
        Assert.True(response.AsSpan().StartsWith(head));

        // The text timeline says the response is cut, with its size and hash, instead of printing megabytes.
        var stdout = new StringWriter();
        Assert.Equal(0, await ReplayCommand.RunAsync([_dir.Segments, "--payloads"], stdout, new StringWriter()));
        Assert.Contains($"    response: (truncated: {response.Length} bytes, sha256 {Convert.ToHexStringLower(SHA256.HashData(response))};", stdout.ToString());
    }

    [Fact]
    public async Task A_record_whose_fields_alone_exceed_the_limit_is_refused_and_the_log_stays_writable()
    {
        var e = new AuditEvent();
        await using (var log = await AuditLog.OpenAsync(_dir.Options()))
        {
            SampleEvents.Fill(e, 1, subject: "refused");
            e.Detail = new string('d', RecordLayout.MaxBody + 1);
            await Assert.ThrowsAsync<AuditUnavailableException>(async () => await log.AppendAsync(e));
            Assert.True(log.IsWritable);
            SampleEvents.Fill(e, 2, subject: "next");
            await log.AppendAsync(e);
        }
        var (report, records) = await LogReading.VerifyFolderAsync(_dir);
        Assert.True(report.Valid, report.FirstError?.Message);
        Assert.DoesNotContain(records, r => r.Subject == "refused");
        Assert.Single(records, r => r.Subject == "next");
    }

    [Fact]
    public void A_frame_of_the_most_raw_bytes_the_writer_puts_in_one_compresses_within_the_frame_limit()
    {
        Assert.True(ZstdSharp.Compressor.GetCompressBound(ActiveSegment.MaxFrameRaw) <= FrameHeader.MaxPayload);
        Assert.True(RecordLayout.LengthPrefix + RecordLayout.MaxBody + RecordLayout.ChainHashSize <= ActiveSegment.MaxFrameRaw);
    }

    [Fact]
    public void Two_payloads_each_over_the_limit_are_both_truncated_and_the_body_stays_within_it()
    {
        var e = new AuditEvent();
        SampleEvents.Fill(e, 1);
        e.RequestPayload = JsonString(17 * 1024 * 1024);
        // Not JSON, and random: its base64 has '+' and '/', which must not be escaped into more bytes than counted.
        e.ResponsePayload = RandomNumberGenerator.GetBytes(17 * 1024 * 1024);
        var buffer = new GrowableBuffer(64);
        int length = new AuditRecordSerializer().Write(buffer, e, 7, 1_700_000_000_000_000);
        Assert.InRange(length, RecordLayout.MaxBody - 4096, RecordLayout.MaxBody);
        using var doc = JsonDocument.Parse(RecordLayout.ReadJson(buffer.WrittenSpan[..length]).ToArray());
        var json = doc.RootElement;
        Assert.False(json.TryGetProperty("request", out _));
        Assert.False(json.TryGetProperty("responseNotJsonBase64", out _));
        foreach (var (name, payload) in new[] { ("requestTruncated", e.RequestPayload), ("responseTruncated", e.ResponsePayload) })
        {
            var t = json.GetProperty(name);
            Assert.Equal(payload.Length, t.GetProperty("length").GetInt32());
            Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(payload.Span)), t.GetProperty("sha256").GetString());
            var head = t.GetProperty("head").GetBytesFromBase64();
            Assert.True(head.Length > 5 * 1024 * 1024, $"{name} head of {head.Length} bytes");
            Assert.True(payload.Span.StartsWith(head));
        }
    }
}
