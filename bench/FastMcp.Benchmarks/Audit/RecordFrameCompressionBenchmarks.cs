using BenchmarkDotNet.Attributes;
using FastMcp.Audit;
using FastMcp.Audit.Reading;
using FastMcp.Audit.Recording;
using ZstdSharp;
using ZstdSharp.Unsafe;

namespace FastMcp.Benchmarks.Audit;

/// <summary>
/// One records frame through zstd at level 1 as the writer compresses it: a Strict group commit (about 7 records) and
/// a Batched flush (about 150), with literal compression as zstd chooses it and switched off
/// (ZSTD_c_literalCompressionMode = ZSTD_ps_disable, experimental parameter 1002). A Strict profile put a third of zstd's
/// time in building entropy tables for each small frame; this measures what skipping them saves and what it costs in bytes.
/// </summary>
[MemoryDiagnoser]
public class RecordFrameCompressionBenchmarks
{
    private const ZSTD_cParameter LiteralCompressionMode = (ZSTD_cParameter)1002;
    private const int LiteralsDisabled = 2;

    [Params(7, 150)]
    public int Records { get; set; }

    [Params(false, true)]
    public bool LiteralsOff { get; set; }

    private byte[] _raw = [];
    private byte[] _compressed = [];
    private Compressor _zstd = null!;

    [GlobalSetup]
    public void Setup()
    {
        var serializer = new AuditRecordSerializer();
        var output = new GrowableBuffer(1 << 20);
        var random = new Random(7);
        AuditEvent e = AuditBenchmarkData.Exchange();
        long micros = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1000;
        for (int i = 0; i < Records; i++)
        {
            AuditBenchmarkData.Vary(e, random);
            serializer.Write(output, e, i, micros + i * 137);
        }
        _raw = output.WrittenSpan.ToArray();
        _compressed = new byte[Compressor.GetCompressBound(_raw.Length)];
        _zstd = new Compressor(1);
        _zstd.SetParameter(ZSTD_cParameter.ZSTD_c_checksumFlag, 1);
        if (LiteralsOff) _zstd.SetParameter(LiteralCompressionMode, LiteralsDisabled);
        double ratio = (double)_zstd.Wrap(_raw, _compressed) / _raw.Length;
        Console.WriteLine($"// records {Records}, literals {(LiteralsOff ? "off" : "auto")}: {_raw.Length} bytes -> {ratio:P1}");
    }

    [GlobalCleanup]
    public void Cleanup() => _zstd.Dispose();

    [Benchmark]
    public int CompressFrame() => _zstd.Wrap(_raw, _compressed);
}
