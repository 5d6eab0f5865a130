using BenchmarkDotNet.Attributes;
using FastMcp.Audit;
using FastMcp.Audit.Crypto;
using FastMcp.Audit.Shipping;
using FastMcp.Audit.Verification;

namespace FastMcp.Benchmarks.Audit;

/// <summary>
/// `fastmcp-verify` over a whole log: 40,000 varied ~1 KB records written by the real writer into
/// ~1 MiB segments (about 15), verified from the folder with one segment at a time and with two
/// at once (<see cref="LogVerifier.Parallelism"/>). MB/s = LogBytes / mean time; the ratio between
/// the two rows is what a second core buys an auditor.
/// </summary>
[MemoryDiagnoser]
public class AuditLogVerifyBenchmarks
{
    private string _dir = "";
    private AuditPublicKey _key = null!;
    private DirectorySegmentStore _store = null!;

    [Params(1, 2)]
    public int Jobs { get; set; } = 1;

    /// <summary>Bytes of segment data in the log (printed at set-up).</summary>
    public long LogBytes { get; private set; }

    [GlobalSetup]
    public void Setup()
    {
        _dir = AuditBenchmarkData.TempDirectory();
        var options = new AuditOptions
        {
            Directory = Path.Combine(_dir, "log"),
            ChainId = "bench",
            SigningKeyPath = Path.Combine(_dir, "key.pem"),
            Durability = AuditDurability.Batched,
            MaxSegmentBytes = 1024 * 1024,
        };
        var log = AuditLog.OpenAsync(options).GetAwaiter().GetResult();
        var e = AuditBenchmarkData.Exchange();
        var random = new Random(42);
        for (int i = 0; i < 40_000; i++)
        {
            AuditBenchmarkData.Vary(e, random);
            log.AppendAsync(e).AsTask().GetAwaiter().GetResult();
        }
        log.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _key = AuditPublicKey.FromPemFile(Path.Combine(_dir, "key.pub.pem"));
        _store = new DirectorySegmentStore(options.Directory);
        var check = new LogVerifier(_store, _key).VerifyAsync("bench", null).GetAwaiter().GetResult();
        if (!check.Valid || check.Chains[0].RecordsVerified < 40_000) throw new InvalidOperationException("benchmark log does not verify: " + check.FirstError?.Message);
        foreach (string f in Directory.EnumerateFiles(options.Directory, "*.seg", SearchOption.AllDirectories)) LogBytes += new FileInfo(f).Length;
        Console.WriteLine($"// AuditLogVerifyBenchmarks log: {LogBytes} bytes in {check.Chains[0].SegmentsVerified} segments, {check.Chains[0].RecordsVerified} records");
    }

    [Benchmark(Description = "verify a 40k-record log from its folder")]
    public long VerifyLog() =>
        new LogVerifier(_store, _key) { Parallelism = Jobs }.VerifyAsync("bench", null).GetAwaiter().GetResult().Chains[0].RecordsVerified;

    [GlobalCleanup]
    public void Cleanup()
    {
        _key.Dispose();
        Directory.Delete(_dir, recursive: true);
    }
}
