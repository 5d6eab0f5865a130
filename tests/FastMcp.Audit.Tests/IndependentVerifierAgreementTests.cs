using System.Diagnostics;
using System.Numerics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using FastMcp.Audit.Cli;
using FastMcp.Audit.Crypto;
using FastMcp.Audit.Format;
using FastMcp.Audit.Reading;
using FastMcp.Audit.Shipping;

namespace FastMcp.Audit.Tests;

/// <summary>
/// Issue #13, "Done when": an independent verifier written from docs/audit-format.md alone
/// (tests/node/independent-verifier/verify.mjs, run as a real node process) agrees with fastmcp-verify
/// on every case: clean logs, recoveries, rotations, key rotation, marker files, and a tamper matrix in
/// which every case must be INVALID for both.
/// </summary>
public sealed class IndependentVerifierAgreementTests : IDisposable
{
    private readonly TempAuditDirectory _dir = new();
    private readonly TempAuditDirectory _second = new();
    private readonly string _cases;

    public IndependentVerifierAgreementTests()
    {
        _cases = Path.Combine(_dir.Root, "cases");
        Directory.CreateDirectory(_cases);
    }

    public void Dispose()
    {
        _second.Dispose();
        _dir.Dispose();
    }

    private sealed record Case(string Name, string Folder, string[] Keys, bool? Valid);

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "FastMcp.sln"))) return dir.FullName;
        throw new InvalidOperationException("FastMcp.sln not found above " + AppContext.BaseDirectory);
    }

    private static string Seg(long i) => "gw-1/" + SegmentNames.Sealed(i);

    private string Save(string name, InMemorySegmentStore store)
    {
        string folder = Path.Combine(_cases, name);
        foreach (var (key, data) in store.Objects)
        {
            string path = Path.Combine(folder, key);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllBytes(path, data);
        }
        return folder;
    }

    private static void CopyLog(string from, string to)
    {
        foreach (var f in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            if (f.EndsWith(".tmp", StringComparison.Ordinal) || Path.GetFileName(f) == Storage.ChainWriterLock.FileName) continue;
            string target = Path.Combine(to, Path.GetRelativePath(from, f));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(f, target);
        }
    }

    private static InMemorySegmentStore Edit(InMemorySegmentStore base_, long segment, Action<SegmentSurgeon> edit)
    {
        var store = base_.Clone();
        var surgeon = SegmentSurgeon.Parse(store.Objects[Seg(segment)]);
        edit(surgeon);
        store.Objects[Seg(segment)] = surgeon.Encode();
        return store;
    }

    /// <summary>Replaces the seal's s by n − s: still a valid ECDSA signature, but the high form v2 forbids.</summary>
    private static byte[] HighS(byte[] note)
    {
        string text = Encoding.UTF8.GetString(note);
        int at = text.LastIndexOf("signature: ", StringComparison.Ordinal);
        var sig = Convert.FromBase64String(text[(at + 11)..].TrimEnd('\n'));
        var n = BigInteger.Parse("0ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551", System.Globalization.NumberStyles.HexNumber);
        var s = new BigInteger(sig.AsSpan(32), isUnsigned: true, isBigEndian: true);
        var high = (n - s).ToByteArray(isUnsigned: true, isBigEndian: true);
        var replaced = new byte[64];
        sig.AsSpan(0, 32).CopyTo(replaced);
        high.CopyTo(replaced, 64 - high.Length);
        return Encoding.UTF8.GetBytes(text[..(at + 11)] + Convert.ToBase64String(replaced) + "\n");
    }

    /// <summary>Rewrites every records frame of a segment file through <paramref name="rewrite"/> (kind, codec, payload), fixing the CRC.</summary>
    private static byte[] RewriteRecordFrames(byte[] segment, Func<byte[], (FrameCodec Codec, byte[] Payload)> rewrite)
    {
        var output = new MemoryStream();
        int offset = 0;
        while (offset < segment.Length)
        {
            Assert.True(FrameHeader.TryRead(segment.AsSpan(offset), out var h, out _));
            var stored = segment.AsSpan(offset + FrameHeader.Size, h.StoredLength).ToArray();
            var header = new byte[FrameHeader.Size];
            if (h.Kind == FrameKind.Records)
            {
                var (codec, payload) = rewrite(stored);
                new FrameHeader(h.Kind, codec, payload.Length, h.RawLength, h.RecordCount).Write(header, payload);
                stored = payload;
            }
            else
            {
                segment.AsSpan(offset, FrameHeader.Size).CopyTo(header);
            }
            output.Write(header);
            output.Write(stored);
            offset += FrameHeader.Size + h.StoredLength;
        }
        return output.ToArray();
    }

    private static AuditEvent ApprovalState(bool success, long generation) => new()
    {
        Type = AuditEventType.ApprovalState,
        Success = success,
        Subject = "fastmcp",
        Detail = success
            ? $"approvals.stateFile generation {generation}: 0 pending approval(s) and 1 open grant(s), about to be written to '/var/lib/fastmcp/approvals.state'"
            : "approvals.stateFile '/var/lib/fastmcp/approvals.state' refused at start: it does not verify: no MAC line; nothing restored (kept as 'x')",
    };

    /// <summary>A chain of its own, one gateway run (a segment) per array of records, saved as a case with its key.</summary>
    private async Task AddGenerationCaseAsync(List<Case> cases, string name, bool valid, params AuditEvent[][] runs)
    {
        using var chain = new TempAuditDirectory();
        foreach (AuditEvent[] run in runs)
        {
            await using var log = await AuditLog.OpenAsync(chain.Options());
            foreach (AuditEvent e in run) await log.AppendAsync(e);
        }
        string folder = Path.Combine(_cases, name), key = Path.Combine(_cases, name + ".pub.pem");
        CopyLog(chain.Segments, folder);
        File.Copy(chain.PublicKey, key);
        cases.Add(new(name, folder, [key], valid));
    }

    private async Task<List<Case>> BuildCasesAsync()
    {
        var cases = new List<Case>();
        string key = _dir.PublicKey;

        // The base: a closed log of many small segments (rotation by size), with its checkpoint object.
        await SampleEvents.WriteLogAsync(_dir.Options(), 40, perSegment: 1);
        var baseStore = InMemorySegmentStore.FromDirectory(_dir.Segments);
        baseStore.Objects.Remove("gw-1/" + Storage.ChainWriterLock.FileName);
        long last = 0;
        foreach (var k in baseStore.Objects.Keys) if (SegmentNames.TryParse(Path.GetFileName(k), out long i, out _)) last = Math.Max(last, i);
        Assert.True(last >= 4, "the base log should rotate into several segments");
        cases.Add(new("rotated-closed-log", Save("rotated-closed-log", baseStore), [key], true));
        cases.Add(new("chain-folder-itself", Path.Combine(Save("chain-folder-itself", baseStore), "gw-1"), [key], true));
        var noCheckpoint = baseStore.Clone();
        noCheckpoint.Objects.Remove("gw-1/" + SegmentNames.CheckpointName);
        cases.Add(new("no-checkpoint-object", Save("no-checkpoint-object", noCheckpoint), [key], true));

        // Marker and evidence-free local files a verifier must ignore.
        string markers = Save("marker-files", baseStore);
        File.WriteAllBytes(Path.Combine(markers, "gw-1", SegmentNames.Sealed(1) + ".shipped"), []);
        File.WriteAllBytes(Path.Combine(markers, "gw-1", "000000000099.seg.tmp"), [1, 2, 3]);
        File.WriteAllBytes(Path.Combine(markers, "gw-1", Storage.ChainWriterLock.FileName), []);
        cases.Add(new("marker-files", markers, [key], true));

        // A single closed segment, and a log copied while the writer runs (newest segment .open).
        var single = new TempAuditDirectory();
        try
        {
            await SampleEvents.WriteLogAsync(single.Options(), 3);
            string folder = Path.Combine(_cases, "single-segment");
            CopyLog(single.Segments, folder);
            File.Copy(single.PublicKey, Path.Combine(_cases, "single.pub.pem"));
            cases.Add(new("single-segment", folder, [Path.Combine(_cases, "single.pub.pem")], true));
            cases.Add(new("wrong-trusted-key", folder, [key], false));
        }
        finally { single.Dispose(); }

        // approvals.stateFile generations (§5 type 15, §7.2): growing, carried, or lower right after a refused file is
        // valid; lower than one recorded before with no refusal between is not.
        await AddGenerationCaseAsync(cases, "approval-generations-grow", true,
            [ApprovalState(true, 1), ApprovalState(true, 2)], [ApprovalState(true, 2), ApprovalState(false, 0), ApprovalState(true, 1)], [ApprovalState(true, 3)]);
        await AddGenerationCaseAsync(cases, "approval-generation-falls", false, [ApprovalState(true, 3)], [ApprovalState(true, 2)]);

        // Records of messages an upstream sent the client on a stream ("direction":"serverToClient", request payload only,
        // queued without waiting for durability: requests, a notification, a withheld event kept as base64) between
        // ordinary exchanges, and a strict append after them: VALID.
        string serverRequests = Path.Combine(_dir.Root, "server-requests-live");
        var serverRequestOptions = _dir.Options();
        serverRequestOptions.Directory = serverRequests;
        await using (var log = await AuditLog.OpenAsync(serverRequestOptions))
        {
            var e = new AuditEvent();
            SampleEvents.Fill(e, 700); await log.AppendAsync(e);
            SampleEvents.FillServerRequest(e, 701); log.AppendQueued(e);
            SampleEvents.FillServerRequest(e, 702); log.AppendQueued(e);
            SampleEvents.FillServerNotification(e, 704); log.AppendQueued(e);
            SampleEvents.FillWithheldEvent(e, 705); log.AppendQueued(e);
            SampleEvents.Fill(e, 703); await log.AppendAsync(e);
        }
        string serverRequestCase = Path.Combine(_cases, "server-to-client-requests");
        CopyLog(serverRequests, serverRequestCase);
        cases.Add(new("server-to-client-requests", serverRequestCase, [key], true));

        var crashDir = Path.Combine(_dir.Root, "crash-live");
        var crashOptions = _dir.Options();
        crashOptions.Directory = crashDir;
        crashOptions.CheckpointInterval = TimeSpan.FromMilliseconds(20);
        string open = Path.Combine(_cases, "open-newest-segment");
        var live = await AuditLog.OpenAsync(crashOptions);
        try
        {
            var e = new AuditEvent();
            for (int i = 0; i < 8; i++) { SampleEvents.Fill(e, 100 + i); await live.AppendAsync(e); }
            await Task.Delay(150);
            CopyLog(crashDir, open);
        }
        finally { await live.DisposeAsync(); }
        cases.Add(new("open-newest-segment", open, [key], true));

        // The same live log copied while a frame was being written into the zero-filled reserve (§3.1, §7.1):
        // an incomplete frame, then zeros; and one copied with the file ending inside that frame. Both warn, both VALID.
        foreach ((string name, bool keepZeros) in new[] { ("open-segment-frame-being-written", true), ("open-segment-ends-inside-a-frame", false) })
        {
            string folder = Path.Combine(_cases, name);
            CopyLog(open, folder);
            string liveFile = Directory.GetFiles(folder, "*.open", SearchOption.AllDirectories).Single();
            byte[] bytes = File.ReadAllBytes(liveFile);
            int end = bytes.Length;
            while (end > 0 && bytes[end - 1] == 0) end--;
            // A records frame header that claims more payload than was written, and a few payload bytes.
            byte[] partial = [(byte)'F', (byte)'M', (byte)'A', (byte)'1', 2, 1, 0, 0, 0x00, 0x10, 0, 0, 0x00, 0x20, 0, 0, 1, 0, 0, 0, 0xAA, 0xBB, 0xCC, 0xDD, 0x28, 0xB5, 0x2F, 0xFD, 0x11, 0x22];
            byte[] image = keepZeros ? bytes : bytes[..end];
            if (keepZeros && image.Length - end < partial.Length + 64) Array.Resize(ref image, end + partial.Length + 4096);
            Array.Resize(ref image, Math.Max(image.Length, end + partial.Length));
            partial.CopyTo(image, end);
            if (!keepZeros) image = image[..(end + partial.Length)];
            File.WriteAllBytes(liveFile, image);
            cases.Add(new(name, folder, [key], true));
        }

        // Honest crash: the open image restarted (recovered: yes seal, v2 header with recovery crash).
        string crashed = Path.Combine(_cases, "crash-recovered");
        CopyLog(open, crashed);
        var restart = _dir.Options();
        restart.Directory = crashed;
        await using (var log = await AuditLog.OpenAsync(restart))
        {
            Assert.False(log.StartReport.TamperingFound, log.StartReport.Tampering);
            var e = new AuditEvent();
            SampleEvents.Fill(e, 500);
            await log.AppendAsync(e);
        }
        cases.Add(new("crash-recovered", crashed, [key], true));

        // Set aside as tampered: the open segment's header edited, then a restart.
        string setAside = Path.Combine(_cases, "set-aside-tampered");
        CopyLog(open, setAside);
        string openFile = Directory.GetFiles(Path.Combine(setAside, "gw-1"), "*.open").Single();
        var parsed = SegmentSurgeon.Parse(File.ReadAllBytes(openFile));
        parsed.Frames[0].Note[parsed.Frames[0].Note.Length / 2] ^= 1;
        File.WriteAllBytes(openFile, parsed.Encode());
        restart = _dir.Options();
        restart.Directory = setAside;
        await using (var log = await AuditLog.OpenAsync(restart))
        {
            Assert.True(log.StartReport.TamperingFound);
            var e = new AuditEvent();
            SampleEvents.Fill(e, 600);
            await log.AppendAsync(e);
        }
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(setAside, "gw-1"), "*.tampered"));
        cases.Add(new("set-aside-tampered", setAside, [key], false));

        // Key rotation: the same chain continued with a second key; both trusted (a folder of keys), or only the old one.
        string rotated = Path.Combine(_dir.Root, "key-rotation-live");
        var first = _dir.Options(); first.Directory = rotated;
        await SampleEvents.WriteLogAsync(first, 3);
        var next = _second.Options(); next.Directory = rotated; next.ChainId = "gw-1"; next.PreviousPublicKeys = [_dir.PublicKey];
        await SampleEvents.WriteLogAsync(next, 3);
        string keyRotation = Path.Combine(_cases, "key-rotation");
        CopyLog(rotated, keyRotation);
        string keyFolder = Path.Combine(_cases, "keys");
        Directory.CreateDirectory(keyFolder);
        File.Copy(_dir.PublicKey, Path.Combine(keyFolder, "old.pem"));
        File.Copy(_second.PublicKey, Path.Combine(keyFolder, "new.pem"));
        cases.Add(new("key-rotation-both-keys", keyRotation, [keyFolder], true));
        cases.Add(new("key-rotation-old-key-only", keyRotation, [key], false));

        // The tamper matrix on the rotated closed log: every one must be INVALID for both.
        void Tamper(string name, InMemorySegmentStore store) => cases.Add(new(name, Save(name, store), [key], false));
        Tamper("deleted-record", Edit(baseStore, 2, s => { var f = s.Frames.FindAll(x => x.Kind == FrameKind.Records)[^1]; f.Bodies.RemoveAt(0); if (f.Bodies.Count == 0) s.Frames.Remove(f); }));
        Tamper("inserted-record", Edit(baseStore, 2, s => { var f = s.Frames.Find(x => x.Kind == FrameKind.Records)!; f.Bodies.Insert(1, (byte[])f.Bodies[0].Clone()); }));
        Tamper("edited-record-json", Edit(baseStore, 2, s => { var b = s.Frames.Find(x => x.Kind == FrameKind.Records)!.Bodies[0]; b[^3] ^= 0x01; }));
        Tamper("appended-record-renumbered", Edit(baseStore, 2, s =>
        {
            var f = s.Frames.FindLast(x => x.Kind == FrameKind.Records)!;
            var extra = (byte[])f.Bodies[^1].Clone();
            SegmentSurgeon.SetSequence(extra, RecordLayout.ReadSequence(f.Bodies[^1]) + 1);
            f.Bodies.Add(extra);
        }));
        var store = baseStore.Clone(); store.Objects.Remove(Seg(2)); Tamper("deleted-segment", store);
        store = baseStore.Clone(); (store.Objects[Seg(2)], store.Objects[Seg(3)]) = (store.Objects[Seg(3)], store.Objects[Seg(2)]); Tamper("reordered-segments", store);
        store = baseStore.Clone(); store.Objects[Seg(last + 1)] = (byte[])store.Objects[Seg(2)].Clone(); Tamper("duplicated-segment", store);
        store = baseStore.Clone(); store.Objects[Seg(2)] = store.Objects[Seg(2)][..^10]; Tamper("truncated-segment", store);
        store = baseStore.Clone(); store.Objects[Seg(2)] = [.. store.Objects[Seg(2)], 0x46, 0x4d]; Tamper("bytes-after-seal", store);
        store = baseStore.Clone(); { var d = (byte[])store.Objects[Seg(2)].Clone(); d[d.Length / 2] ^= 0x20; store.Objects[Seg(2)] = d; } Tamper("flipped-byte-crc", store);
        store = baseStore.Clone(); { var d = (byte[])store.Objects[Seg(2)].Clone(); d[4] = 9; store.Objects[Seg(2)] = d; } Tamper("unknown-frame-kind", store);
        Tamper("seal-removed", Edit(baseStore, 2, s => s.Frames.RemoveAll(f => f.Kind == FrameKind.Seal)));
        using (var forger = AuditSigner.FromPem(ECDsa.Create(ECCurve.NamedCurves.nistP256).ExportPkcs8PrivateKeyPem()))
        {
            Tamper("forged-seal", Edit(baseStore, 2, s => { s.Frames.Find(x => x.Kind == FrameKind.Records)!.Bodies[0][^3] ^= 1; s.ForgeSeal(forger); }));
            store = baseStore.Clone();
            Assert.True(Checkpoint.TryDecode(store.Objects["gw-1/checkpoint"], out var cp, out _, out _));
            var unsigned = (cp! with { Head = new byte[32] }).EncodeUnsigned();
            store.Objects["gw-1/checkpoint"] = AuditNote.AppendSignature(unsigned, forger.Sign(unsigned));
            Tamper("forged-checkpoint-object", store);
        }
        Tamper("high-s-seal", Edit(baseStore, 2, s => { var f = s.Frames.Find(x => x.Kind == FrameKind.Seal)!; f.Note = HighS(f.Note); }));
        Tamper("header-chain-renamed", Edit(baseStore, 2, s =>
        {
            Assert.True(SegmentHeader.TryDecode(s.Frames[0].Note, out var h, out _));
            s.Frames[0].Note = (h! with { Chain = "gw-2" }).Encode();
        }));
        Tamper("header-renumbered-copy", Edit(baseStore, 2, s =>
        {
            Assert.True(SegmentHeader.TryDecode(s.Frames[0].Note, out var h, out _));
            s.Frames[0].Note = (h! with { Segment = 3 }).Encode();
        }));
        store = baseStore.Clone(); store.Objects.Remove(Seg(last)); Tamper("tail-truncated-under-checkpoint", store);
        store = baseStore.Clone(); store.Objects["gw-1/" + SegmentNames.Open(2)] = store.Objects[Seg(2)]; store.Objects.Remove(Seg(2)); Tamper("sealed-segment-renamed-open", store);
        Tamper("checkpoint-frame-moved", Edit(baseStore, 2, s =>
        {
            var sealFrame = s.Frames.Find(x => x.Kind == FrameKind.Seal)!;
            Assert.True(Checkpoint.TryDecode(baseStore.Objects["gw-1/checkpoint"], out _, out _, out _));
            s.Frames.Insert(1, new SegmentSurgeon.FrameModel { Kind = FrameKind.Checkpoint, Note = baseStore.Objects["gw-1/checkpoint"] });
        }));
        // Encodings the seal does not cover (§4.4): records frames stored with codec 0, or zstd without the content checksum.
        store = baseStore.Clone();
        using (var unzstd = new ZstdSharp.Decompressor())
            store.Objects[Seg(2)] = RewriteRecordFrames(store.Objects[Seg(2)], z => (FrameCodec.None, unzstd.Unwrap(z).ToArray()));
        cases.Add(new("records-frame-codec-0", Save("records-frame-codec-0", store), [key], true));
        cases.Add(new("zstd-without-checksum", Save("zstd-without-checksum", Edit(baseStore, 2, _ => { })), [key], true));
        store = baseStore.Clone();
        store.Objects[Seg(2)] = RewriteRecordFrames(store.Objects[Seg(2)], z => { var c = (byte[])z.Clone(); c[^1] ^= 0x5a; return (FrameCodec.Zstd, c); });
        Tamper("zstd-checksum-altered", store);

        // An .open whose second frame is damaged with frames after it (§3.1: not a write in progress).
        {
            string folder = Path.Combine(_cases, "open-segment-damaged-middle-frame");
            CopyLog(open, folder);
            string liveFile = Directory.GetFiles(folder, "*.open", SearchOption.AllDirectories).Single();
            byte[] bytes = File.ReadAllBytes(liveFile);
            var ends = new List<int>();
            using (var reader = new FrameReader())
            {
                reader.Reset(bytes, zeroTailIsEnd: true);
                while (reader.Next(out var f, out _) == FrameReadStatus.Ok) ends.Add((int)f.Offset + f.TotalLength);
            }
            Assert.True(ends.Count >= 4, $"{ends.Count} frames");
            bytes[ends[1] - 1] ^= 0x5A;
            File.WriteAllBytes(liveFile, bytes);
            cases.Add(new("open-segment-damaged-middle-frame", folder, [key], false));
        }
        await AddPublishedCasesAsync(cases, key);
        return cases;
    }

    /// <summary>
    /// Stores with published checkpoints (§7.3, §10.1): a running gateway's (its open segment's checkpoints
    /// published, the segment not shipped), an honest closed one, one missing its newest segment and the
    /// checkpoint object, and a chain rolled back and continued past its newest published checkpoint.
    /// </summary>
    private async Task AddPublishedCasesAsync(List<Case> cases, string key)
    {
        string root = Path.Combine(_dir.Root, "published");
        var options = _dir.Options();
        options.Directory = Path.Combine(root, "host");
        options.MaxSegmentBytes = 4096;
        options.Shipping = new ShippingOptions
        {
            Target = ShippingTarget.Directory,
            Directory = Path.Combine(root, "store"),
            LocalRetention = TimeSpan.FromHours(1),
            ScanInterval = TimeSpan.FromHours(1),
            InitialBackoff = TimeSpan.FromMilliseconds(1),
        };
        string store = options.Shipping.Directory;
        await SampleEvents.WriteLogAsync(options, 20);
        var running = await AuditLog.OpenAsync(options);
        try
        {
            for (int wait = 0; wait < 400 && running.Anchors!.LastPublishedSequence < 0; wait++) await Task.Delay(25);
            Assert.True(running.Anchors!.LastPublishedSequence > 0, "the running log's start checkpoint was not published");
            CopyLog(store, Path.Combine(_cases, "published-open-segment-not-shipped"));
            cases.Add(new("published-open-segment-not-shipped", Path.Combine(_cases, "published-open-segment-not-shipped"), [key], true));
        }
        finally { await running.DisposeAsync(); }

        CopyLog(store, Path.Combine(_cases, "published-honest"));
        cases.Add(new("published-honest", Path.Combine(_cases, "published-honest"), [key], true));

        string cut = Path.Combine(_cases, "published-newest-segment-deleted");
        CopyLog(store, cut);
        File.Delete(Directory.GetFiles(Path.Combine(cut, "gw-1"), "*.seg").Order(StringComparer.Ordinal).Last());
        File.Delete(Path.Combine(cut, "gw-1", SegmentNames.CheckpointName));
        cases.Add(new("published-newest-segment-deleted", cut, [key], false));

        // The rollback: the newest segment (never shipped) and the host's notes deleted, the start comparison skipped.
        string chainDir = Path.Combine(options.Directory, "gw-1");
        string newest = Directory.GetFiles(chainDir, "*.seg").Order(StringComparer.Ordinal).Last();
        File.Delete(newest);
        File.Delete(newest + SegmentShipper.ShippedMarkerSuffix);
        File.Delete(Path.Combine(store, "gw-1", Path.GetFileName(newest)));
        File.Delete(Path.Combine(chainDir, SegmentNames.CheckpointName));
        File.Delete(Path.Combine(chainDir, SegmentNames.LastSealName));
        options.Anchoring.CheckOnStart = false;
        await SampleEvents.WriteLogAsync(options, 30);
        CopyLog(store, Path.Combine(_cases, "published-rolled-back"));
        cases.Add(new("published-rolled-back", Path.Combine(_cases, "published-rolled-back"), [key], false));
    }

    private static async Task<bool> ReferenceVerdictAsync(Case c)
    {
        var args = new List<string> { c.Folder };
        foreach (var k in c.Keys) { args.Add("--key"); args.Add(k); }
        var stdout = new StringWriter();
        int code = await VerifyCommand.RunAsync(args.ToArray(), stdout, new StringWriter());
        Assert.True(code is 0 or 1, $"{c.Name}: fastmcp-verify exit {code}: {stdout}");
        return code == 0;
    }

    private static async Task<(bool Valid, string Output)> NodeVerdictAsync(Case c)
    {
        string root = RepoRoot();
        string script = Path.Combine(root, "tests", "node", "independent-verifier", "verify.mjs");
        Assert.True(File.Exists(Path.Combine(root, "tests", "node", "node_modules", "fzstd", "package.json")),
            "tests/node/node_modules/fzstd is missing: run `npm ci` in tests/node (tests/run.sh does)");
        var psi = new ProcessStartInfo(Environment.GetEnvironmentVariable("NODE") is { Length: > 0 } node ? node : "node")
        { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(script);
        psi.ArgumentList.Add("--json");
        foreach (var k in c.Keys) { psi.ArgumentList.Add("--key"); psi.ArgumentList.Add(k); }
        psi.ArgumentList.Add(c.Folder);
        using var p = Process.Start(psi)!;
        var outTask = p.StandardOutput.ReadToEndAsync();
        var errTask = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await p.WaitForExitAsync(cts.Token);
        string output = await outTask, err = await errTask;
        Assert.True(p.ExitCode is 0 or 1, $"{c.Name}: node verifier exit {p.ExitCode}: {output}{err}");
        using var doc = JsonDocument.Parse(output);
        bool valid = doc.RootElement[0].GetProperty("valid").GetBoolean();
        Assert.Equal(valid, p.ExitCode == 0);
        return (valid, output);
    }

    [Fact]
    public async Task The_independent_verifier_agrees_with_fastmcp_verify_on_every_case()
    {
        var cases = await BuildCasesAsync();
        Assert.True(cases.Count >= 25, $"only {cases.Count} cases");
        var disagreements = new List<string>();
        foreach (var c in cases)
        {
            bool reference = await ReferenceVerdictAsync(c);
            var (independent, output) = await NodeVerdictAsync(c);
            if (reference != independent) disagreements.Add($"{c.Name}: fastmcp-verify {(reference ? "VALID" : "INVALID")}, node {(independent ? "VALID" : "INVALID")}: {output}");
            else if (c.Valid is { } expected && expected != reference) disagreements.Add($"{c.Name}: both say {(reference ? "VALID" : "INVALID")}, expected {(expected ? "VALID" : "INVALID")}: {output}");
        }
        Assert.True(disagreements.Count == 0, string.Join("\n", disagreements));
    }
}
