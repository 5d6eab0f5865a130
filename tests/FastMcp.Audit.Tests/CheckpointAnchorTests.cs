using System.Net;
using System.Net.Sockets;
using FastMcp.Audit.Anchoring;
using FastMcp.Audit.Format;
using FastMcp.Audit.Shipping;
using FastMcp.Audit.Verification;

namespace FastMcp.Audit.Tests;

/// <summary>
/// Checkpoints published outside the host (directory store, witness): each new one create-only,
/// a restart behind the newest published one refused, the verifier checking the newest one, and
/// publishing failures counted and reported without blocking appends.
/// </summary>
public sealed class CheckpointAnchorTests : IDisposable
{
    private readonly TempAuditDirectory _dir = new();
    private string Store => Path.Combine(_dir.Root, "archive");
    private string Published => Path.Combine(Store, "gw-1", AnchorNames.Folder);

    public void Dispose() => _dir.Dispose();

    private AuditOptions Options(TimeSpan retention)
    {
        var options = _dir.Options();
        options.Shipping = new ShippingOptions
        {
            Target = ShippingTarget.Directory,
            Directory = Store,
            LocalRetention = retention,
            ScanInterval = TimeSpan.FromHours(1),
            InitialBackoff = TimeSpan.FromMilliseconds(1),
        };
        return options;
    }

    private static async Task<AuditLog> WriteAsync(AuditOptions options, int count, bool close = true)
    {
        options.MaxSegmentBytes = 4096;
        var log = await AuditLog.OpenAsync(options);
        var e = new AuditEvent();
        for (int i = 0; i < count; i++)
        {
            SampleEvents.Fill(e, i);
            await log.AppendAsync(e);
        }
        if (close) await log.DisposeAsync();
        return log;
    }

    private string[] PublishedFiles() => Directory.GetFiles(Published, "*" + AnchorNames.Extension).Order(StringComparer.Ordinal).ToArray();

    private static Checkpoint Decode(byte[] note)
    {
        Assert.True(Checkpoint.TryDecode(note, out var cp, out _, out var error), error);
        return cp!;
    }

    [Fact]
    public async Task Each_new_checkpoint_is_published_once_and_the_newest_proves_the_log_to_a_verifier()
    {
        var log = await WriteAsync(Options(TimeSpan.FromHours(1)), 20);
        Assert.Equal(0, log.Anchors!.Failures);
        Assert.Equal(22, log.Anchors.LastPublishedSequence); // AuditStarted + 20 + AuditStopped

        string[] files = PublishedFiles();
        Assert.True(files.Length >= 3, $"{files.Length} published");
        var sequences = files.Select(f => Decode(File.ReadAllBytes(f)).Sequence).ToArray();
        Assert.Equal(sequences.Order().Distinct(), sequences); // one object per sequence, names sort by sequence
        foreach (string f in files) Assert.Equal(AnchorNames.Key("gw-1", Decode(File.ReadAllBytes(f)).Sequence), Path.GetRelativePath(Store, f).Replace('\\', '/'));
        Assert.Equal(22, sequences[^1]);

        var (code, output) = await VerifyAsync(Store, "--key", _dir.PublicKey, "--since-checkpoint", files[^1]);
        Assert.True(code == VerifyCommand.Valid, output);
        Assert.Contains("log grew from 22 to 22 records", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_restart_after_the_newest_segment_the_checkpoint_and_last_seal_were_deleted_is_refused()
    {
        var options = Options(TimeSpan.FromHours(1)); // shipped segments stay on the host too
        await WriteAsync(options, 20);
        string chain = _dir.ChainDir();
        string newest = Directory.GetFiles(chain, "*.seg").Order(StringComparer.Ordinal).Last();
        // The host attacker's cut: the newest segment and every local note of how far the chain went.
        File.Delete(newest);
        File.Delete(Path.Combine(chain, SegmentNames.CheckpointName));
        File.Delete(Path.Combine(chain, SegmentNames.LastSealName));

        var refused = await Assert.ThrowsAsync<ChainBehindAnchorException>(() => AuditLog.OpenAsync(options));
        Assert.Contains("audit chain 'gw-1'", refused.Message, StringComparison.Ordinal);
        Assert.Contains("vouches for 22 records", refused.Message, StringComparison.Ordinal);
        Assert.Contains("Refusing to continue the chain", refused.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(chain, "*.open")); // nothing was written

        // A chain that is not behind (untouched copy) continues.
        var intact = Options(TimeSpan.FromHours(1));
        intact.ChainId = "gw-2";
        await WriteAsync(intact, 3);
        await WriteAsync(intact, 3);
    }

    [Theory]
    [InlineData("checkpoint-forged-signature")]
    [InlineData("checkpoint-foreign-key")]
    [InlineData("last-seal-foreign-key")]
    [InlineData("open-header-only")]
    public async Task A_planted_local_note_claiming_a_longer_chain_does_not_hide_a_cut_from_the_start_check(string planted)
    {
        var options = Options(TimeSpan.FromHours(1));
        await WriteAsync(options, 20);
        string chain = _dir.ChainDir();
        string newest = Directory.GetFiles(chain, "*.seg").Order(StringComparer.Ordinal).Last();
        Assert.True(Checkpoint.TryDecode(File.ReadAllBytes(Path.Combine(chain, SegmentNames.CheckpointName)), out var cp, out _, out _));
        Assert.True(Seal.TryDecode(File.ReadAllBytes(Path.Combine(chain, SegmentNames.LastSealName)), out var seal, out _, out _));
        File.Delete(newest);
        File.Delete(Path.Combine(chain, SegmentNames.CheckpointName));
        File.Delete(Path.Combine(chain, SegmentNames.LastSealName));

        // The attacker cannot sign with the gateway's key: a note that claims it does not verify, one naming their own key is not the chain's.
        using var forger = FastMcp.Audit.Crypto.AuditSigner.FromPem(System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256).ExportPkcs8PrivateKeyPem());
        byte[] Sign(byte[] unsigned) => AuditNote.AppendSignature(unsigned, forger.Sign(unsigned));
        switch (planted)
        {
            case "checkpoint-forged-signature":
                File.WriteAllBytes(Path.Combine(chain, SegmentNames.CheckpointName), Sign((cp! with { Sequence = 1000, Acknowledged = 1000 }).EncodeUnsigned()));
                break;
            case "checkpoint-foreign-key":
                File.WriteAllBytes(Path.Combine(chain, SegmentNames.CheckpointName), Sign((cp! with { Sequence = 1000, Acknowledged = 1000, KeyId = forger.KeyId }).EncodeUnsigned()));
                break;
            case "last-seal-foreign-key":
                File.WriteAllBytes(Path.Combine(chain, SegmentNames.LastSealName), Sign((seal! with { FirstSequence = 1000, KeyId = forger.KeyId }).EncodeUnsigned()));
                break;
            default:
                var header = new SegmentHeader("gw-1", cp!.Segment + 5, 1000, cp.TimeMicros, 1000, cp.KeyId, new byte[32], new byte[32]);
                var open = new SegmentSurgeon();
                open.Frames.Add(new SegmentSurgeon.FrameModel { Kind = FrameKind.Header, Note = header.Encode() });
                File.WriteAllBytes(Path.Combine(chain, SegmentNames.Open(cp.Segment + 5)), open.Encode());
                break;
        }

        var refused = await Assert.ThrowsAsync<ChainBehindAnchorException>(() => AuditLog.OpenAsync(options));
        Assert.Contains("vouches for 22 records", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task After_a_key_rotation_the_start_check_compares_with_a_checkpoint_the_previous_key_signed()
    {
        var options = Options(TimeSpan.FromHours(1));
        await WriteAsync(options, 20);
        string chain = _dir.ChainDir();
        File.Delete(Directory.GetFiles(chain, "*.seg").Order(StringComparer.Ordinal).Last());
        File.Delete(Path.Combine(chain, SegmentNames.CheckpointName));
        File.Delete(Path.Combine(chain, SegmentNames.LastSealName));

        string keys = Path.Combine(_dir.Root, "keys-2");
        Directory.CreateDirectory(keys);
        AuditKeys.Generate(Path.Combine(keys, "k2.pem"), Path.Combine(keys, "k2.pub.pem"));
        options.SigningKeyPath = Path.Combine(keys, "k2.pem");
        options.PreviousPublicKeys = [_dir.PublicKey];
        // The newest published checkpoint names the old key: verified with the configured previous key and compared, not skipped.
        var refused = await Assert.ThrowsAsync<ChainBehindAnchorException>(() => AuditLog.OpenAsync(options));
        Assert.Contains("vouches for 22 records", refused.Message, StringComparison.Ordinal);

        // Without it the comparison cannot be made (reported), and the old key's seal is not continued from either.
        var problems = new List<string>();
        options.PreviousPublicKeys = [];
        options.Anchoring.OnProblem = m => { lock (problems) problems.Add(m); };
        await Assert.ThrowsAsync<AuditTamperingException>(() => AuditLog.OpenAsync(options));
        lock (problems) Assert.Contains(problems, p => p.Contains("audit.previousPublicKeys", StringComparison.Ordinal) && p.Contains("not compared", StringComparison.Ordinal));
        Assert.Empty(Directory.GetFiles(chain, "*.open"));
    }

    [Fact]
    public async Task The_verifier_checks_the_newest_published_checkpoint_so_a_cut_store_tail_is_caught()
    {
        await WriteAsync(Options(TimeSpan.Zero), 20);
        string shipped = Path.Combine(Store, "gw-1");
        string newest = Directory.GetFiles(shipped, "*.seg").Order(StringComparer.Ordinal).Last();
        File.Delete(newest);
        File.Delete(Path.Combine(shipped, SegmentNames.CheckpointName));

        using var key = _dir.LoadPublicKey();
        using var store = new DirectorySegmentStore(Store);
        var report = await new LogVerifier(store, key).VerifyAsync(Store, null);
        Assert.False(report.Valid);
        Assert.Equal("truncated-log", report.FirstError!.Code);
        Assert.Contains("published checkpoint gw-1/checkpoints/", report.FirstError.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_witness_receives_the_checkpoints_with_its_token_and_serves_one_the_verifier_accepts_by_url()
    {
        using var witness = new CheckpointWitness();
        string tokenFile = Path.Combine(_dir.Root, "witness-token");
        File.WriteAllText(tokenFile, "witness-secret\n");
        var options = Options(TimeSpan.FromHours(1));
        options.Anchoring.WitnessUrl = witness.Url;
        options.Anchoring.WitnessTokenFile = tokenFile;
        var log = await WriteAsync(options, 10);
        Assert.Equal(0, log.Anchors!.Failures);

        var notes = witness.Notes;
        Assert.NotEmpty(notes);
        Assert.Equal(12, Decode(notes[^1]).Sequence);
        Assert.Equal("Bearer witness-secret", witness.LastAuthorization);

        var (code, output) = await VerifyAsync(Store, "--key", _dir.PublicKey, "--since-checkpoint", witness.Url);
        Assert.True(code == VerifyCommand.Valid, output);
    }

    [Fact]
    public async Task Publishing_failures_do_not_block_appends_and_are_counted_and_reported()
    {
        // Nothing listens on the witness port, and the store is a file where a folder should be.
        int port = UnusedPort.Pick();
        File.WriteAllText(Store, "not a folder");
        var problems = new List<string>();
        var options = Options(TimeSpan.Zero);
        options.Anchoring.WitnessUrl = $"http://127.0.0.1:{port}/witness";
        options.Anchoring.Timeout = TimeSpan.FromSeconds(2);
        options.Anchoring.OnProblem = m => { lock (problems) problems.Add(m); };

        var log = await WriteAsync(options, 10, close: false);
        Assert.True(log.IsWritable);
        for (int i = 0; i < 200 && log.Anchors!.Failures == 0; i++) await Task.Delay(50);
        Assert.True(log.Anchors!.Failures > 0);
        Assert.NotNull(log.Anchors.LastError);
        Assert.Equal(-1, log.Anchors.LastPublishedSequence);
        // Appends still complete while publishing keeps failing.
        var e = new AuditEvent();
        SampleEvents.Fill(e, 99);
        await log.AppendAsync(e);
        await log.DisposeAsync();
        lock (problems)
        {
            Assert.Contains(problems, p => p.Contains("audit anchor: publishing checkpoint", StringComparison.Ordinal));
            Assert.Contains(problems, p => p.Contains("audit anchor: witness http://127.0.0.1:", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task A_published_checkpoint_for_the_same_sequence_with_another_head_is_a_conflict_not_an_overwrite()
    {
        var options = Options(TimeSpan.FromHours(1));
        var log = await WriteAsync(options, 5);
        string newest = PublishedFiles()[^1];
        byte[] original = File.ReadAllBytes(newest);
        var cp = Decode(original);

        // Another writer on the same chain id publishes a different head at that sequence.
        using var signer = FastMcp.Audit.Crypto.AuditSigner.FromPemFile(_dir.PrivateKey);
        byte[] unsigned = (cp with { Head = new byte[32] }).EncodeUnsigned();
        byte[] forked = AuditNote.AppendSignature(unsigned, signer.Sign(unsigned));
        var problems = new List<string>();
        options.Anchoring.OnProblem = m => { lock (problems) problems.Add(m); };
        await using var publisher = CheckpointPublisher.Create(options)!;
        publisher.Offer(forked);
        Assert.True(await publisher.PublishPendingAsync());
        Assert.Equal(1, publisher.Conflicts);
        Assert.Equal(original, File.ReadAllBytes(newest));
        Assert.Contains(problems, p => p.Contains("already holds a different checkpoint", StringComparison.Ordinal));
    }

    private static async Task<(int Code, string Output)> VerifyAsync(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = await VerifyCommand.RunAsync(args, stdout, stderr);
        return (code, stdout.ToString() + stderr);
    }
}
