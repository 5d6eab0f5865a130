using FastMcp.Audit.Cli;
using FastMcp.Audit.Crypto;
using FastMcp.Audit.Verification;
using FastMcp.Text;

namespace FastMcp.Audit;

/// <summary>
/// `fastmcp-verify` / `fastmcp verify`:
///   [verify] LOCATION --key PUB.pem [--json] [--since-checkpoint FILE] [--jobs N]
///   prove LOCATION --key PUB.pem --record SEQ [--chain ID] [--out FILE]
///   check-proof PROOF.json --key PUB.pem
/// LOCATION is a folder or s3://bucket/prefix (--endpoint, --region, --profile, --virtual-hosted, --ca-file).
/// Exit codes: 0 valid, 1 invalid, 2 usage or I/O error.
/// </summary>
public static class VerifyCommand
{
    public const int Valid = 0;
    public const int Invalid = 1;
    public const int Error = 2;

    /// <summary>Jobs used without --jobs: every core, up to this many (memory grows with each).</summary>
    public const int DefaultMaxJobs = 8;

    public const string Usage = """
        usage:
          fastmcp-verify [verify] LOCATION --key PUBLIC.pem... [--json] [--since-checkpoint FILE] [--jobs N]
          fastmcp-verify prove LOCATION --key PUBLIC.pem... --record SEQUENCE [--chain ID] [--out FILE]
          fastmcp-verify check-proof PROOF.json --key PUBLIC.pem... [--json]
          fastmcp-verify replay LOCATION --key PUBLIC.pem [filters] [--format text|jsonl]
        LOCATION: a folder of segments, or s3://bucket/prefix with `fastmcp verify` (the gateway binary; fastmcp-verify
          is the offline verifier and carries no cloud SDK) (--endpoint URL, --region R, --profile NAME, --virtual-hosted,
          --sdk-checksums, --ca-file CA.pem for an https endpoint behind a private CA; credentials from the environment
          or shared files)
        --key: a trusted public key, or a folder of *.pem public keys; repeatable (key rotation). Each
          segment, seal and checkpoint is checked with the trusted key its key id names.
        --since-checkpoint: a checkpoint kept outside the host: a file, an http(s) URL, or s3://BUCKET/KEY
          (a published one, e.g. s3://bucket/prefix/CHAIN/checkpoints/00000000000000000042.checkpoint)
        --jobs N: segments verified at once, one core and one segment in memory each (default: every core, at most 8); the result does not depend on it
        exit codes: 0 valid, 1 invalid, 2 usage or I/O error
        """;

    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr)
    {
        try
        {
            string verb = args.Length > 0 && !args[0].StartsWith("--", StringComparison.Ordinal) ? args[0] : "";
            switch (verb)
            {
                case "prove": return await ProveAsync(args.AsSpan(1).ToArray(), stdout, stderr).ConfigureAwait(false);
                case "check-proof": return CheckProof(args.AsSpan(1).ToArray(), stdout, stderr);
                case "replay": return await ReplayCommand.RunAsync(args.AsSpan(1).ToArray(), stdout, stderr).ConfigureAwait(false);
                case "verify": return await VerifyAsync(args.AsSpan(1).ToArray(), stdout, stderr).ConfigureAwait(false);
                case "help" or "": 
                    if (args.Length == 0 || verb == "help" || Array.IndexOf(args, "--help") >= 0) { stdout.WriteLine(Usage); return args.Length == 0 ? Error : Valid; }
                    return await VerifyAsync(args, stdout, stderr).ConfigureAwait(false);
                default: return await VerifyAsync(args, stdout, stderr).ConfigureAwait(false);
            }
        }
        catch (UsageException e)
        {
            stderr.WriteLine(PrintableText.Escape("fastmcp-verify: " + e.Message));
            stderr.WriteLine(Usage);
            return Error;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            stderr.WriteLine(PrintableText.Escape("fastmcp-verify: error: " + (Shipping.StoreProblem.IsRefusedHandshake(e) ? Shipping.StoreProblem.UntrustedCertificateCli : FastMcp.Http.PlainError.Describe(e))));
            return Error;
        }
    }

    private static async Task<int> VerifyAsync(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var a = CliArguments.Parse(args, StoreArguments.Concat(["key", "since-checkpoint", "jobs"], StoreArguments.Valued), StoreArguments.Concat(["json"], StoreArguments.Flags));
        if (a.Positional.Count != 1) throw new UsageException("exactly one LOCATION expected");
        // Each job holds one segment (up to audit.maxSegmentBytes, 64 MiB by default) and its decoded frame.
        int jobs = Math.Min(Environment.ProcessorCount, DefaultMaxJobs);
        if (a.Get("jobs") is { } jobsText && (!int.TryParse(jobsText, out jobs) || jobs is < 1 or > 64)) throw new UsageException("--jobs must be a number from 1 to 64");
        using var keys = LoadKeys(a);
        byte[]? kept = a.Get("since-checkpoint") is { } cpSource ? await CheckpointSource.ReadAsync(cpSource, a, CancellationToken.None).ConfigureAwait(false) : null;
        using var store = StoreArguments.Open(a.Positional[0], a);
        var report = await new LogVerifier(store, keys) { Parallelism = jobs }.VerifyAsync(a.Positional[0], kept).ConfigureAwait(false);
        if (a.Has("json"))
        {
            using var buffer = new MemoryStream();
            ReportWriter.WriteJson(report, buffer);
            stdout.WriteLine(System.Text.Encoding.UTF8.GetString(buffer.ToArray()));
        }
        else
        {
            ReportWriter.WriteText(report, stdout);
        }
        return report.Valid ? Valid : Invalid;
    }

    /// <summary>Every --key: a PEM public key file or a folder of them; notes pick theirs by key id.</summary>
    internal static TrustedKeys LoadKeys(CliArguments a)
    {
        var paths = a.GetAll("key");
        if (paths.Count == 0) throw new UsageException("--key is required (a public key file or a folder of them; repeatable)");
        return TrustedKeys.Load(paths);
    }

    private static async Task<int> ProveAsync(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var a = CliArguments.Parse(args, StoreArguments.Concat(["key", "record", "chain", "out"], StoreArguments.Valued), StoreArguments.Flags);
        if (a.Positional.Count != 1) throw new UsageException("exactly one LOCATION expected");
        if (!long.TryParse(a.Require("record"), out long sequence) || sequence < 0) throw new UsageException("--record must be a record sequence number");
        using var keys = LoadKeys(a);
        using var store = StoreArguments.Open(a.Positional[0], a);
        RecordProof proof;
        try
        {
            proof = await RecordProof.CreateAsync(store, keys, a.Get("chain"), sequence).ConfigureAwait(false);
        }
        catch (InvalidDataException e)
        {
            stderr.WriteLine(PrintableText.Escape("fastmcp-verify: " + FastMcp.Http.PlainError.Describe(e)));
            return Invalid;
        }
        // The proof stands on its signed seal, but an auditor must hear that the chain around it does not verify.
        foreach (var gap in proof.ChainGaps) stderr.WriteLine(PrintableText.Escape("fastmcp-verify: warning: " + gap));
        var json = proof.ToJson();
        if (a.Get("out") is { } outPath)
        {
            File.WriteAllBytes(outPath, json);
            stdout.WriteLine(PrintableText.Escape($"proof for record {sequence} (chain {proof.Chain}, segment {proof.Segment}, {proof.Path.Count} hashes) written to {outPath}"));
        }
        else
        {
            stdout.WriteLine(System.Text.Encoding.UTF8.GetString(json));
        }
        return Valid;
    }

    private static int CheckProof(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var a = CliArguments.Parse(args, ["key"], ["json"]);
        if (a.Positional.Count != 1) throw new UsageException("exactly one PROOF file expected");
        using var keys = LoadKeys(a);
        RecordProof proof;
        try
        {
            proof = RecordProof.Parse(File.ReadAllBytes(a.Positional[0]));
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidDataException or KeyNotFoundException or FormatException or InvalidOperationException)
        {
            stdout.WriteLine(PrintableText.Escape("INVALID: the proof file is malformed: " + FastMcp.Http.PlainError.Describe(e)));
            return Invalid;
        }
        bool ok = proof.Check(keys, out var reason);
        stdout.WriteLine(PrintableText.Escape((ok ? "VALID: " : "INVALID: ") + reason));
        if (ok)
        {
            var record = new System.Buffers.ArrayBufferWriter<byte>(proof.Record.Length + 64);
            PrintableText.AppendJsonLine(record, Format.RecordLayout.ReadJson(proof.Record));
            stdout.WriteLine(System.Text.Encoding.UTF8.GetString(record.WrittenSpan));
        }
        return ok ? Valid : Invalid;
    }
}
