using System.Buffers;
using System.Text;
using BenchmarkDotNet.Attributes;
using FastMcp.Identity;
using FastMcp.Pan;
using FastMcp.Pan.Payloads;
using FastMcp.Policy;

namespace FastMcp.Benchmarks.Policy;

/// <summary>
/// The card-number work of one request under bench/configs/full-batched.json (containsCardNumber on the whole arguments,
/// requests masked), as the policy stage and request masking (Stages/PanMasking.cs ApplyToRequest) do it:
/// "scanned twice" is the policy scanning the arguments and masking scanning the body again (payload walk, then
/// strings); "one scan" is the request's one MessageCardScan read by both, masking skipped when it shows nothing to mask.
/// </summary>
[MemoryDiagnoser]
public class RequestCardScanBenchmarks
{
    private PolicyEngine _engine = null!;
    private readonly Principal _caller = new("alice", ["dev"], [], "cli", "https://idp", DateTimeOffset.MaxValue);
    private readonly PanMasker _masker = new(new PanMaskingOptions { FingerprintKey = Encoding.ASCII.GetBytes("bench-fingerprint-key-0123456789") });
    private readonly MessageCardScan _scan = new();
    private byte[] _body = [];
    private byte[] _sent = [];
    private int _argumentsOffset;
    private int _argumentsLength;

    /// <summary>The load generator's echo call (fastmcp-load's default), its cards call, and a call with a card number in its arguments (denied).</summary>
    [Params("echo", "cards", "card-in-arguments")]
    public string Request { get; set; } = "echo";

    [GlobalSetup]
    public void Setup()
    {
        _engine = PolicyEngine.Compile(new PolicyOptions
        {
            DefaultAction = "deny",
            Rules =
            [
                new RuleOptions { Name = "no-destructive-tools", Action = "deny", Methods = ["tools/call"], Names = ["drop_*", "delete_*"] },
                new RuleOptions { Name = "no-cards-in-arguments", Action = "deny", Methods = ["tools/call"],
                    Arguments = [new ArgumentConditionOptions { Pointer = "", ContainsCardNumber = true }] },
                new RuleOptions { Name = "bench-tools", Action = "allow", Methods = ["tools/call"], Names = ["echo", "cards", "stream"] },
            ],
        });
        string arguments = Request switch
        {
            "echo" => """{"text":"hello"}""",
            "cards" => """{"order":1042}""",
            _ => """{"text":"pay with 4111 1111 1111 1111 today"}""",
        };
        string head = """{"jsonrpc":"2.0","id":17,"method":"tools/call","params":{"name":"echo","arguments":""";
        _sent = Encoding.UTF8.GetBytes(head + arguments + "}}");
        _body = (byte[])_sent.Clone();
        _argumentsOffset = Encoding.UTF8.GetByteCount(head);
        _argumentsLength = Encoding.UTF8.GetByteCount(arguments);
    }

    [Benchmark(Baseline = true)]
    public int ScannedTwice()
    {
        ReadOnlySpan<byte> arguments = _body.AsSpan(_argumentsOffset, _argumentsLength);
        PolicyDecision decision = McpCallDecision.Decide(_engine, _caller, "tools/call"u8, "echo"u8, arguments);
        int found = Mask(masked: true);
        return (int)decision.Action + found;
    }

    [Benchmark]
    public int OneScan()
    {
        _scan.Scan(_body, _masker);
        ReadOnlySpan<byte> arguments = _body.AsSpan(_argumentsOffset, _argumentsLength);
        PolicyDecision decision = McpCallDecision.Decide(_engine, _caller, "tools/call"u8, "echo"u8, arguments, cards: _scan, argumentsOffset: _argumentsOffset);
        int found = Mask(masked: !_scan.NothingToMask(_masker));
        return (int)decision.Action + found;
    }

    /// <summary>Request masking's body work (payloads, then strings with numbers kept), on the body as sent each time.</summary>
    private int Mask(bool masked)
    {
        if (!masked) return 0;
        PanMaskCounts counts = default;
        Base64Payloads.MaskInPlace(_masker, _body, ref counts);
        int found = _masker.MaskStringsInPlace(new ReadOnlySequence<byte>(_body), ref counts, out _);
        if (found > 0) _sent.CopyTo(_body, 0);
        return found;
    }
}
