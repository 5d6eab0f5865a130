using System.Diagnostics;
using System.Text.Json;
using FastMcp.Audit.Format;

namespace FastMcp.Audit.Tests;

/// <summary>The verifier, prover, replay and keys commands as auditors run them: exit codes and output.</summary>
public sealed class CliTests : IClassFixture<CliTests.Fixture>
{
    public sealed class Fixture : IDisposable
    {
        public TempAuditDirectory Dir { get; } = new();

        public Fixture()
        {
            SampleEvents.WriteLogAsync(Dir.Options(), 30, perSegment: 1).GetAwaiter().GetResult();
        }

        public void Dispose() => Dir.Dispose();
    }

    private readonly Fixture _f;

    public CliTests(Fixture f) => _f = f;

    private static async Task<(int Code, string Out, string Err)> RunAsync(Func<string[], TextWriter, TextWriter, Task<int>> command, params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = await command(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    private string CopyLog()
    {
        string copy = Path.Combine(_f.Dir.Root, "copy-" + Guid.NewGuid().ToString("N"));
        foreach (var file in Directory.EnumerateFiles(_f.Dir.Segments, "*", SearchOption.AllDirectories))
        {
            if (Path.GetFileName(file) == FastMcp.Audit.Storage.ChainWriterLock.FileName) continue; // the live writer's lock
            string target = Path.Combine(copy, Path.GetRelativePath(_f.Dir.Segments, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
        return copy;
    }

    [Fact]
    public async Task Verify_exits_0_with_a_text_report_for_an_intact_log()
    {
        var (code, output, _) = await RunAsync(VerifyCommand.RunAsync, _f.Dir.Segments, "--key", _f.Dir.PublicKey);
        Assert.Equal(0, code);
        Assert.Contains("chain gw-1: VALID", output);
        Assert.Contains("32 records", output);
        Assert.Contains("RESULT: VALID", output);
    }

    [Fact]
    public async Task Verify_exits_1_and_names_the_first_bad_segment_and_record()
    {
        string copy = CopyLog();
        var surgeon = SegmentSurgeon.Parse(File.ReadAllBytes(Path.Combine(copy, "gw-1", SegmentNames.Sealed(2))));
        var frames = surgeon.Frames.FindAll(f => f.Kind == FrameKind.Records);
        frames[0].Bodies.RemoveAt(0);
        if (frames[0].Bodies.Count == 0) surgeon.Frames.Remove(frames[0]);
        File.WriteAllBytes(Path.Combine(copy, "gw-1", SegmentNames.Sealed(2)), surgeon.Encode());

        var (code, output, _) = await RunAsync(VerifyCommand.RunAsync, "verify", copy, "--key", _f.Dir.PublicKey);
        Assert.Equal(1, code);
        Assert.Contains("first bad: segment 2", output);
        Assert.Contains("record ", output);
        Assert.Contains("RESULT: INVALID", output);

        (code, output, _) = await RunAsync(VerifyCommand.RunAsync, copy, "--key", _f.Dir.PublicKey, "--json");
        Assert.Equal(1, code);
        using var doc = JsonDocument.Parse(output);
        Assert.False(doc.RootElement.GetProperty("valid").GetBoolean());
        var error = doc.RootElement.GetProperty("chains")[0].GetProperty("errors")[0];
        Assert.Equal(2, error.GetProperty("segment").GetInt64());
        Assert.True(error.TryGetProperty("record", out _));
    }

    [Fact]
    public async Task Verify_exits_2_on_usage_and_io_errors()
    {
        Assert.Equal(2, (await RunAsync(VerifyCommand.RunAsync, _f.Dir.Segments)).Code);
        Assert.Equal(2, (await RunAsync(VerifyCommand.RunAsync, _f.Dir.Segments, "--key", _f.Dir.PublicKey, "--bogus")).Code);
        Assert.Equal(2, (await RunAsync(VerifyCommand.RunAsync, Path.Combine(_f.Dir.Root, "nope"), "--key", _f.Dir.PublicKey)).Code);
        Assert.Equal(2, (await RunAsync(VerifyCommand.RunAsync, _f.Dir.Segments, "--key", Path.Combine(_f.Dir.Root, "missing.pem"))).Code);
    }

    [Fact]
    public async Task Verify_with_another_key_fails()
    {
        string other = Path.Combine(_f.Dir.Root, "other-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(other);
        AuditKeys.Generate(Path.Combine(other, "k.pem"), Path.Combine(other, "k.pub"));
        var (code, output, _) = await RunAsync(VerifyCommand.RunAsync, _f.Dir.Segments, "--key", Path.Combine(other, "k.pub"));
        Assert.Equal(1, code);
        Assert.Contains("[untrusted-key]", output);
        Assert.Contains("RESULT: INVALID", output);
    }

    [Fact]
    public async Task Since_checkpoint_proves_growth_and_catches_tail_truncation()
    {
        string copy = CopyLog();
        string kept = Path.Combine(copy, "kept-checkpoint");
        File.Copy(Path.Combine(copy, "gw-1", "checkpoint"), kept);
        var (code, output, _) = await RunAsync(VerifyCommand.RunAsync, copy, "--key", _f.Dir.PublicKey, "--since-checkpoint", kept);
        Assert.Equal(0, code);
        Assert.Contains("since checkpoint: log grew", output);

        var segments = Directory.GetFiles(Path.Combine(copy, "gw-1"), "*.seg").Order(StringComparer.Ordinal).ToArray();
        File.Delete(segments[^1]);
        File.Delete(Path.Combine(copy, "gw-1", "checkpoint"));
        Assert.Equal(0, (await RunAsync(VerifyCommand.RunAsync, copy, "--key", _f.Dir.PublicKey)).Code);
        (code, output, _) = await RunAsync(VerifyCommand.RunAsync, copy, "--key", _f.Dir.PublicKey, "--since-checkpoint", kept);
        Assert.Equal(1, code);
        Assert.Contains("truncated-log", output);
    }

    /// <summary>
    /// A kept checkpoint comes from outside the host (a witness URL, a bucket): one whose type line holds a carriage
    /// return, terminal escapes and C1 controls is quoted in the finding, escaped in the text report and JSON-escaped in
    /// --json, so it can neither forge a report line nor drive the auditor's terminal.
    /// </summary>
    [Fact]
    public async Task Verify_quotes_hostile_text_from_a_kept_checkpoint_escaped()
    {
        string copy = CopyLog();
        string kept = Path.Combine(copy, "kept-checkpoint");
        string[] lines = File.ReadAllText(Path.Combine(copy, "gw-1", "checkpoint")).Split('\n');
        string hostile = HostileText.Raw.Replace("\n", "", StringComparison.Ordinal);
        lines[0] = hostile;
        File.WriteAllText(kept, string.Join('\n', lines));

        var (code, output, _) = await RunAsync(VerifyCommand.RunAsync, copy, "--key", _f.Dir.PublicKey, "--since-checkpoint", kept);
        Assert.Equal(1, code);
        HostileText.AssertPrintable(output);
        Assert.Contains("note type is '" + HostileText.Escaped.Replace(@"fx\n", "fx", StringComparison.Ordinal) + "'", output);

        (code, output, _) = await RunAsync(VerifyCommand.RunAsync, copy, "--key", _f.Dir.PublicKey, "--since-checkpoint", kept, "--json");
        Assert.Equal(1, code);
        HostileText.AssertPrintable(output);
        using var report = JsonDocument.Parse(output);
        Assert.Contains("note type is '" + hostile + "'", report.RootElement.GetProperty("errors")[0].GetProperty("message").GetString());
    }

    [Fact]
    public async Task Prove_emits_a_proof_that_check_proof_validates_alone_and_rejects_when_altered()
    {
        string proofPath = Path.Combine(_f.Dir.Root, "proof-" + Guid.NewGuid().ToString("N") + ".json");
        var (code, output, err) = await RunAsync(VerifyCommand.RunAsync, "prove", _f.Dir.Segments, "--key", _f.Dir.PublicKey, "--record", "17", "--out", proofPath);
        Assert.True(code == 0, output + err);

        // The proof stands alone: checked without the segments.
        (code, output, _) = await RunAsync(VerifyCommand.RunAsync, "check-proof", proofPath, "--key", _f.Dir.PublicKey);
        Assert.Equal(0, code);
        Assert.Contains("VALID: record 17 is included", output);
        Assert.Contains("\"seq\":17", output);

        var json = File.ReadAllText(proofPath);
        using var doc = JsonDocument.Parse(json);
        var record = doc.RootElement.GetProperty("record").GetBytesFromBase64();
        record[^5] ^= 1;
        string altered = json.Replace(doc.RootElement.GetProperty("record").GetString()!, Convert.ToBase64String(record));
        File.WriteAllText(proofPath, altered);
        (code, output, _) = await RunAsync(VerifyCommand.RunAsync, "check-proof", proofPath, "--key", _f.Dir.PublicKey);
        Assert.Equal(1, code);
        Assert.Contains("INVALID", output);

        var wrongIndex = json.Replace("\"sequence\": 17", "\"sequence\": 18");
        File.WriteAllText(proofPath, wrongIndex);
        Assert.Equal(1, (await RunAsync(VerifyCommand.RunAsync, "check-proof", proofPath, "--key", _f.Dir.PublicKey)).Code);
    }

    [Fact]
    public async Task Replay_filters_by_session_user_and_tool_and_writes_jsonl()
    {
        var (code, output, err) = await RunAsync(ReplayCommand.RunAsync, _f.Dir.Segments, "--key", _f.Dir.PublicKey, "--session", "sess-1", "--format", "jsonl");
        Assert.True(code == 0, err);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(10, lines.Length); // i % 3 == 1 for i in 0..29
        long lastTime = 0;
        foreach (var line in lines)
        {
            using var d = JsonDocument.Parse(line);
            Assert.Equal("gw-1", d.RootElement.GetProperty("chain").GetString());
            Assert.Equal("sess-1", d.RootElement.GetProperty("session").GetString());
            Assert.Equal("Berlin", d.RootElement.GetProperty("request").GetProperty("params").GetProperty("arguments").GetProperty("city").GetString());
            long t = DateTime.Parse(d.RootElement.GetProperty("time").GetString()!).Ticks;
            Assert.True(t >= lastTime);
            lastTime = t;
        }

        (code, output, _) = await RunAsync(ReplayCommand.RunAsync, _f.Dir.Segments, "--user", "bob", "--tool", "get_weather", "--payloads");
        Assert.Equal(0, code);
        var text = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !l.StartsWith("    ", StringComparison.Ordinal)).ToArray();
        Assert.Equal(15, text.Length); // odd i are bob; none of them is i % 4 == 0
        Assert.All(text, l => Assert.Contains("user=bob", l));
        Assert.All(text, l => Assert.Contains("target=get_weather", l));
        Assert.Contains("    request:  {", output);

        (code, output, _) = await RunAsync(ReplayCommand.RunAsync, _f.Dir.Segments, "--since", "2026-11-23T12:00:00.005Z", "--until", "2026-11-23T12:00:00.010Z", "--format", "jsonl");
        Assert.Equal(0, code);
        Assert.Equal(5, output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length); // i = 5..9 at 1.0017 ms steps
    }

    [Fact]
    public async Task Verify_gives_the_same_report_with_any_number_of_jobs_and_refuses_a_bad_count()
    {
        string copy = CopyLog();
        File.Delete(Path.Combine(copy, "gw-1", SegmentNames.Sealed(3)));
        var (code1, one, _) = await RunAsync(VerifyCommand.RunAsync, copy, "--key", _f.Dir.PublicKey, "--json", "--jobs", "1");
        var (code4, four, _) = await RunAsync(VerifyCommand.RunAsync, copy, "--key", _f.Dir.PublicKey, "--json", "--jobs", "4");
        Assert.Equal(1, code1);
        Assert.Equal(1, code4);
        Assert.Equal(one, four);
        Assert.Contains("missing-segment", one);

        foreach (string bad in new[] { "0", "65", "many" })
        {
            var (code, _, err) = await RunAsync(VerifyCommand.RunAsync, copy, "--key", _f.Dir.PublicKey, "--jobs", bad);
            Assert.Equal(2, code);
            Assert.Contains("--jobs", err);
        }
    }

    [Fact]
    public async Task Replay_jsonl_keeps_one_record_per_line_when_a_payload_spans_lines()
    {
        // Payloads are recorded byte for byte, so a pretty-printed answer (or one ending in a newline) holds raw line
        // breaks: whitespace to JSON, a record boundary to every JSONL reader.
        using var dir = new TempAuditDirectory();
        await using (var log = await AuditLog.OpenAsync(dir.Options()))
        {
            var e = new AuditEvent();
            for (int i = 0; i < 3; i++)
            {
                SampleEvents.Fill(e, i);
                e.ResponsePayload = System.Text.Encoding.UTF8.GetBytes("{\r\n  \"jsonrpc\": \"2.0\",\n  \"id\": " + i + ",\n  \"result\": {}\n}\n");
                await log.AppendAsync(e);
            }
        }

        var (code, output, err) = await RunAsync(ReplayCommand.RunAsync, dir.Segments, "--key", dir.PublicKey, "--session", "sess-1", "--format", "jsonl");
        Assert.True(code == 0, err);
        string[] lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 3, output);
        for (int i = 0; i < 3; i++)
        {
            using var d = JsonDocument.Parse(lines[i]);
            Assert.Equal(i, d.RootElement.GetProperty("response").GetProperty("id").GetInt32());
            Assert.True(d.RootElement.GetProperty("verified").GetBoolean());
        }
    }

    /// <summary>Two sample records of session sess-1: the first with what <paramref name="first"/> sets, the second without it
    /// (Fill resets the event's optional fields).</summary>
    private static async Task AppendTwoAsync(TempAuditDirectory dir, Action<AuditEvent> first)
    {
        await using var log = await AuditLog.OpenAsync(dir.Options());
        var e = new AuditEvent();
        SampleEvents.Fill(e, 0);
        first(e);
        await log.AppendAsync(e);
        SampleEvents.Fill(e, 1);
        await log.AppendAsync(e);
    }

    [Fact]
    public async Task Replay_shows_the_query_a_record_holds_and_the_log_verifies_with_it()
    {
        using var dir = new TempAuditDirectory();
        await AppendTwoAsync(dir, e => e.Query = "?tenant=eu&profile=admin"u8.ToArray());

        var (code, output, err) = await RunAsync(ReplayCommand.RunAsync, dir.Segments, "--key", dir.PublicKey, "--session", "sess-1");
        Assert.True(code == 0, err);
        string[] lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.Contains(" query=?tenant=eu&profile=admin", lines[0]);
        Assert.DoesNotContain("query=", lines[1]);
        (code, output, err) = await RunAsync(ReplayCommand.RunAsync, dir.Segments, "--key", dir.PublicKey, "--session", "sess-1", "--format", "jsonl");
        Assert.True(code == 0, err);
        using var d = JsonDocument.Parse(output.Split('\n', StringSplitOptions.RemoveEmptyEntries)[0]);
        Assert.Equal("tenant=eu&profile=admin", d.RootElement.GetProperty("component").GetProperty("query").GetString());
    }

    [Fact]
    public async Task An_admin_request_record_verifies_and_replay_shows_and_filters_it()
    {
        using var dir = new TempAuditDirectory();
        await AppendTwoAsync(dir, e =>
        {
            e.Reset();
            e.Type = AuditEventType.AdminRequest;
            e.Success = true;
            e.Subject = "bob";
            e.Groups = ["release"];
            e.ClientAddress = "10.0.0.7";
            e.Method = "GET";
            e.Target = "/approvals";
            e.Query = "?state=all"u8.ToArray();
            e.HttpStatus = 200;
            e.Detail = "admin: approvals list";
        });

        var (code, output, err) = await RunAsync(VerifyCommand.RunAsync, dir.Segments, "--key", dir.PublicKey);
        Assert.True(code == 0, output + err);
        Assert.Contains("RESULT: VALID", output);
        (code, output, err) = await RunAsync(ReplayCommand.RunAsync, dir.Segments, "--key", dir.PublicKey, "--type", "AdminRequest");
        Assert.True(code == 0, err);
        string line = Assert.Single(output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains(" AdminRequest ok user=bob groups=[\"release\"] from=10.0.0.7 method=GET target=/approvals query=?state=all http=200 detail=\"admin: approvals list\"", line);
    }

    [Fact]
    public async Task Replay_shows_the_forwarded_fields_and_cookies_a_record_holds_and_the_log_verifies_with_them()
    {
        using var dir = new TempAuditDirectory();
        await AppendTwoAsync(dir, e =>
        {
            e.Headers = "x-note:card 411111******1111%2C ok,x-tenant:prod"u8.ToArray();
            e.Cookies = "sid=9a0c6a1d4e2b7f3a5c8d0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d"u8.ToArray();
        });

        var (code, output, err) = await RunAsync(ReplayCommand.RunAsync, dir.Segments, "--key", dir.PublicKey, "--session", "sess-1");
        Assert.True(code == 0, err);
        string[] lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.Contains(" headers=\"x-note:card 411111******1111%2C ok,x-tenant:prod\" cookies=\"sid=9a0c6a1d4e2b7f3a5c8d0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d\"", lines[0]);
        Assert.DoesNotContain("headers=", lines[1]);
        Assert.DoesNotContain("cookies=", lines[1]);
        (code, output, err) = await RunAsync(ReplayCommand.RunAsync, dir.Segments, "--key", dir.PublicKey, "--session", "sess-1", "--format", "jsonl");
        Assert.True(code == 0, err);
        using var d = JsonDocument.Parse(output.Split('\n', StringSplitOptions.RemoveEmptyEntries)[0]);
        Assert.Equal("x-tenant:prod", d.RootElement.GetProperty("component").GetProperty("headers").GetString()!.Split(',')[1]);
    }

    [Fact]
    public async Task Replay_help_prints_the_usage()
    {
        var (code, output, _) = await RunAsync(ReplayCommand.RunAsync, "--help");
        Assert.Equal(0, code);
        Assert.Contains("--format text|jsonl", output);
    }

    [Fact]
    public async Task Replay_with_a_key_exits_1_when_the_log_is_not_intact()
    {
        string copy = CopyLog();
        File.Delete(Path.Combine(copy, "gw-1", SegmentNames.Sealed(2)));
        var (code, _, err) = await RunAsync(ReplayCommand.RunAsync, copy, "--key", _f.Dir.PublicKey);
        Assert.Equal(1, code);
        Assert.Contains("does not verify", err);
    }

    [Fact]
    public void Keys_generate_writes_a_usable_pair_and_refuses_to_overwrite()
    {
        string dir = Path.Combine(_f.Dir.Root, "keys-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        string priv = Path.Combine(dir, "a.pem"), pub = Path.Combine(dir, "a.pub.pem");
        var stdout = new StringWriter();
        Assert.Equal(0, KeysCommand.Run(["generate", "--private", priv, "--public", pub], stdout, new StringWriter()));
        using var signer = FastMcp.Audit.Crypto.AuditSigner.FromPemFile(priv);
        using var verifier = FastMcp.Audit.Crypto.AuditPublicKey.FromPemFile(pub);
        Assert.Equal(signer.KeyId, verifier.KeyId);
        Assert.True(verifier.Verify("x"u8, signer.Sign("x"u8)));
        if (!OperatingSystem.IsWindows()) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(priv));
        Assert.Equal(2, KeysCommand.Run(["generate", "--private", priv, "--public", pub], stdout, new StringWriter()));
        Assert.Equal(2, KeysCommand.Run(["generate"], stdout, new StringWriter()));
    }

    /// <summary>The Native AOT binary, when it has been published (dotnet publish src/FastMcp.Verify -c Release -r linux-x64).</summary>
    [NativeBinaryFact]
    public async Task Native_fastmcp_verify_binary_verifies_and_rejects()
    {
        string binary = FindNativeBinary()!;
        Assert.Equal(0, await RunProcessAsync(binary, _f.Dir.Segments, "--key", _f.Dir.PublicKey));
        string copy = CopyLog();
        var path = Path.Combine(copy, "gw-1", SegmentNames.Sealed(2));
        var bytes = File.ReadAllBytes(path);
        bytes[bytes.Length / 2] ^= 0x10;
        File.WriteAllBytes(path, bytes);
        Assert.Equal(1, await RunProcessAsync(binary, copy, "--key", _f.Dir.PublicKey, "--json"));
        Assert.Equal(2, await RunProcessAsync(binary, copy));
    }

    internal static string? FindNativeBinary()
    {
        // The test command publishes it and says where (tests/run.sh exports FASTMCP_VERIFY_BIN).
        if (Environment.GetEnvironmentVariable("FASTMCP_VERIFY_BIN") is { Length: > 0 } fromEnv && File.Exists(fromEnv)) return Path.GetFullPath(fromEnv);
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "FastMcp.sln"))) dir = dir.Parent;
        if (dir is null) return null;
        string path = Path.Combine(dir.FullName, "src", "FastMcp.Verify", "bin", "Release", "net10.0", "linux-x64", "publish", "fastmcp-verify");
        return File.Exists(path) ? path : null;
    }

    private static async Task<int> RunProcessAsync(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        try
        {
            await p.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            throw;
        }
        await Task.WhenAll(stdout, stderr);
        return p.ExitCode;
    }
}

/// <summary>Skips, saying how to build it, when the native fastmcp-verify binary has not been published.</summary>
public sealed class NativeBinaryFactAttribute : FactAttribute
{
    public NativeBinaryFactAttribute()
    {
        if (CliTests.FindNativeBinary() is null)
            Skip = "fastmcp-verify native binary absent; publish it with: dotnet publish src/FastMcp.Verify -c Release -r linux-x64";
    }
}
