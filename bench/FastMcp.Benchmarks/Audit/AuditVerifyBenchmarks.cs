using System.Buffers.Binary;
using BenchmarkDotNet.Attributes;
using FastMcp.Audit;
using FastMcp.Audit.Crypto;
using FastMcp.Audit.Format;
using FastMcp.Audit.Reading;
using FastMcp.Audit.Recording;
using FastMcp.Audit.Storage;
using FastMcp.Audit.Verification;

namespace FastMcp.Benchmarks.Audit;

/// <summary>
/// Full verification of one sealed segment of 20,000 ~1 KB records (CRC, zstd, every record's sequence,
/// leaf and chain hash, Merkle root, checkpoint and seal signatures). MB/s = SegmentBytes / mean time.
/// <c>repetitive</c>: every record the same exchange (compresses ~25x, the worst case per stored byte);
/// <c>varied</c>: ids, amounts, names and free text differ per record, as in real traffic.
/// </summary>
[MemoryDiagnoser]
public class AuditVerifyBenchmarks
{
    private byte[] _segment = [];
    private AuditPublicKey _key = null!;
    private SegmentWalk _walk = null!;
    private SegmentExpectation _expect;

    [Params("repetitive", "varied")]
    public string Records { get; set; } = "repetitive";

    /// <summary>Size of the verified segment, printed so throughput can be computed from the mean.</summary>
    public int SegmentBytes => _segment.Length;

    [GlobalSetup]
    public void Setup()
    {
        string dir = AuditBenchmarkData.TempDirectory();
        using (var signer = AuditSigner.FromPemFile(Path.Combine(dir, "key.pem")))
        {
            var header = new SegmentHeader("bench", 1, 0, NoteValues.ToUnixMicros(DateTime.UtcNow), 10000, signer.KeyId, new byte[32], new byte[32]);
            using var segment = ActiveSegment.Create(PhysicalAuditFileSystem.Instance, dir, signer, 1, header);
            var serializer = new AuditRecordSerializer();
            var entries = new GrowableBuffer(1 << 20);
            var e = AuditBenchmarkData.Exchange();
            var random = new Random(42);
            long seq = 0;
            for (int frame = 0; frame < 80; frame++)
            {
                entries.Clear();
                for (int i = 0; i < 250; i++)
                {
                    int start = entries.WrittenCount;
                    entries.GetSpan(4);
                    entries.Advance(4);
                    e.LatencyMicroseconds = seq * 7 % 5000;
                    if (Records == "varied") AuditBenchmarkData.Vary(e, random);
                    int length = serializer.Write(entries, e, seq++, NoteValues.ToUnixMicros(DateTime.UtcNow));
                    BinaryPrimitives.WriteInt32LittleEndian(entries.RawArray.AsSpan(start), length);
                    PendingBatch.LeaveChainSlot(entries);
                }
                segment.AppendRecords(entries.RawArray.AsSpan(0, entries.WrittenCount), 250, flush: false);
                if (frame % 20 == 0) segment.WriteCheckpoint("bench", NoteValues.ToUnixMicros(DateTime.UtcNow), segment.NextSequence);
            }
            segment.SealAndRename(recovered: false, NoteValues.ToUnixMicros(DateTime.UtcNow));
            _segment = File.ReadAllBytes(segment.SealedPath);
        }
        _key = AuditPublicKey.FromPemFile(Path.Combine(dir, "key.pub.pem"));
        Directory.Delete(dir, recursive: true);
        _walk = new SegmentWalk(_key);
        _expect = new SegmentExpectation("bench", 1, 0, new byte[32], new byte[32]);
        Console.WriteLine($"// AuditVerifyBenchmarks {Records} segment: {_segment.Length} bytes, 20000 records, SHA-256 via {(Sha256.IsNative ? "libcrypto SHA256_*" : ".NET SHA256")}");
        var check = _walk.Walk(_segment, _expect, mayBeOpen: false, []);
        if (check.Error is not null || check.Records != 20000) throw new InvalidOperationException("benchmark segment does not verify: " + check.Error?.Message);
    }

    [Benchmark(Description = "verify sealed segment (20k records)")]
    public long VerifySegment() => _walk.Walk(_segment, _expect, mayBeOpen: false, []).Records;

    [GlobalCleanup]
    public void Cleanup()
    {
        _walk.Dispose();
        _key.Dispose();
    }
}
