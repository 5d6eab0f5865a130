using System.Buffers.Binary;
using BenchmarkDotNet.Attributes;
using FastMcp.Audit;
using FastMcp.Audit.Crypto;
using FastMcp.Audit.Format;
using FastMcp.Audit.Reading;
using FastMcp.Audit.Recording;
using FastMcp.Audit.Storage;

namespace FastMcp.Benchmarks.Audit;

/// <summary>
/// Single-core append pipeline per record: serialize (~1 KB masked payloads), SHA-256 leaf + chain
/// hash, Merkle append, zstd level 1, frame CRC and file append (page cache, fsync excluded: that
/// cost is per group commit, not per record). 256 records per frame, as group commit batches them.
/// </summary>
[MemoryDiagnoser]
public class AuditAppendBenchmarks
{
    private const int Batch = 256;
    private string _dir = "";
    private AuditSigner _signer = null!;
    private ActiveSegment _segment = null!;
    private readonly AuditRecordSerializer _serializer = new();
    private readonly GrowableBuffer _entries = new(1 << 20);
    private readonly GrowableBuffer _frameRaw = new(1 << 20);
    private AuditEvent _event = null!;
    private long _sequence;
    private long _index;

    [GlobalSetup]
    public void Setup()
    {
        _dir = AuditBenchmarkData.TempDirectory();
        _signer = AuditSigner.FromPemFile(Path.Combine(_dir, "key.pem"));
        _event = AuditBenchmarkData.Exchange();
        NewSegment();
    }

    private void NewSegment()
    {
        _segment?.Dispose();
        foreach (var f in Directory.GetFiles(_dir, "*.open")) File.Delete(f);
        _index++;
        var header = new SegmentHeader("bench", _index, _sequence, NoteValues.ToUnixMicros(DateTime.UtcNow), 10000, _signer.KeyId, new byte[32], new byte[32]);
        _segment = ActiveSegment.Create(PhysicalAuditFileSystem.Instance, _dir, _signer, 1, header);
    }

    [Benchmark(OperationsPerInvoke = Batch, Description = "append 1 KB record (zstd-1, hashed in place, framed, written)")]
    public void AppendRecord() => Append(copyFirst: false);

    /// <summary>
    /// The writer before issue #14's in-place chain hashes: it copied every record of the batch into a frame buffer of
    /// its own (to put the chain hash after it) and compressed that. Modelled as one copy of the batch, then the same append.
    /// </summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = Batch, Description = "... with the batch copied into a frame buffer first (as before)")]
    public void AppendRecordCopied() => Append(copyFirst: true);

    private void Append(bool copyFirst)
    {
        if (_segment.CommittedLength > 64 << 20) NewSegment();
        _entries.Clear();
        long micros = NoteValues.ToUnixMicros(_event.TimestampUtc);
        for (int i = 0; i < Batch; i++)
        {
            int start = _entries.WrittenCount;
            _entries.GetSpan(4);
            _entries.Advance(4);
            // Every record written afresh (the same event would otherwise copy its shared fields from the last).
            _event.ForgetSharedFields();
            int length = _serializer.Write(_entries, _event, _sequence++, micros);
            BinaryPrimitives.WriteInt32LittleEndian(_entries.RawArray.AsSpan(start), length);
            PendingBatch.LeaveChainSlot(_entries);
        }
        Span<byte> batch = _entries.RawArray.AsSpan(0, _entries.WrittenCount);
        if (copyFirst)
        {
            _frameRaw.Clear();
            _frameRaw.Write(batch);
            batch = _frameRaw.RawArray.AsSpan(0, _frameRaw.WrittenCount);
        }
        _segment.AppendRecords(batch, Batch, flush: false);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _segment.Dispose();
        _signer.Dispose();
        Directory.Delete(_dir, recursive: true);
    }
}
