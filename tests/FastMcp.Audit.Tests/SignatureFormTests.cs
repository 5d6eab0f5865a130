using System.Numerics;
using System.Security.Cryptography;
using FastMcp.Audit.Cli;
using FastMcp.Audit.Crypto;
using FastMcp.Audit.Format;
using FastMcp.Audit.Verification;

namespace FastMcp.Audit.Tests;

/// <summary>
/// Signature form and key ids (docs/audit-format.md §2): the writer signs low-s v2 notes, the
/// verifier refuses the other s of a v2 signature, picks trusted keys by key id, and refuses a
/// seal or checkpoint naming another key than its segment header.
/// </summary>
public sealed class SignatureFormTests : IDisposable
{
    private static readonly BigInteger Order = BigInteger.Parse("0FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551", System.Globalization.NumberStyles.HexNumber);
    private readonly TempAuditDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>The other valid signature of the same message: (r, n - s).</summary>
    private static byte[] OtherS(ReadOnlySpan<byte> signature)
    {
        var result = signature.ToArray();
        var s = new BigInteger(signature[32..], isUnsigned: true, isBigEndian: true);
        var flipped = Order - s;
        Array.Clear(result, 32, 32);
        int length = flipped.GetByteCount(isUnsigned: true);
        flipped.TryWriteBytes(result.AsSpan(64 - length), out _, isUnsigned: true, isBigEndian: true);
        return result;
    }

    private static string Seg(long i) => "gw-1/" + SegmentNames.Sealed(i);

    [Fact]
    public void The_signer_always_produces_low_s_and_normalizing_keeps_the_signature_valid()
    {
        using var signer = AuditSigner.FromPemFile(_dir.PrivateKey);
        using var pub = _dir.LoadPublicKey();
        using var raw = ECDsa.Create();
        raw.ImportFromPem(File.ReadAllText(_dir.PrivateKey));
        int highSeen = 0;
        for (int i = 0; i < 64; i++)
        {
            byte[] message = System.Text.Encoding.ASCII.GetBytes("note " + i);
            Assert.True(EcdsaLowS.IsLowS(signer.Sign(message)));
            byte[] plain = raw.SignData(message, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
            if (!EcdsaLowS.IsLowS(plain))
            {
                highSeen++;
                byte[] normalized = (byte[])plain.Clone();
                EcdsaLowS.Normalize(normalized);
                Assert.True(EcdsaLowS.IsLowS(normalized));
                Assert.Equal(OtherS(plain), normalized);
                Assert.True(pub.Verify(message, normalized));
            }
        }
        Assert.True(highSeen > 0, "64 plain signatures without one high s"); // about half are high
    }

    [Fact]
    public async Task The_writer_writes_version_2_notes_with_low_s_signatures()
    {
        await SampleEvents.WriteLogAsync(_dir.Options(), 40, perSegment: 1);
        var store = InMemorySegmentStore.FromDirectory(_dir.Segments);
        int seals = 0;
        foreach (var (name, data) in store.Objects)
        {
            if (!name.EndsWith(".seg", StringComparison.Ordinal)) continue;
            var surgeon = SegmentSurgeon.Parse(data);
            Assert.True(SegmentHeader.TryDecode(surgeon.Frames[0].Note, out var header, out _));
            Assert.Equal(2, header!.Version);
            foreach (var frame in surgeon.Frames)
            {
                if (frame.Kind is not (FrameKind.Seal or FrameKind.Checkpoint)) continue;
                Assert.StartsWith(frame.Kind == FrameKind.Seal ? Seal.TypeLine : Checkpoint.TypeLine, System.Text.Encoding.UTF8.GetString(frame.Note));
                Assert.True(AuditNote.TryParse(frame.Note, frame.Kind == FrameKind.Seal ? Seal.TypeLine : Checkpoint.TypeLine,
                    frame.Kind == FrameKind.Seal ? Seal.Keys : Checkpoint.Keys, signed: true, out var note, out _));
                Assert.True(EcdsaLowS.IsLowS(note!.Signature));
                if (frame.Kind == FrameKind.Seal) seals++;
            }
        }
        Assert.True(seals >= 2, $"{seals} seals");
    }

    [Fact]
    public async Task The_other_s_of_a_version_2_seal_is_refused_even_on_the_newest_segment()
    {
        await SampleEvents.WriteLogAsync(_dir.Options(), 40, perSegment: 1);
        var store = InMemorySegmentStore.FromDirectory(_dir.Segments);
        long last = 0;
        foreach (var k in store.Objects.Keys)
            if (SegmentNames.TryParse(k["gw-1/".Length..], out long i, out _)) last = Math.Max(last, i);
        var surgeon = SegmentSurgeon.Parse(store.Objects[Seg(last)]);
        var sealFrame = surgeon.Frames.Find(f => f.Kind == FrameKind.Seal)!;
        Assert.True(AuditNote.TryParse(sealFrame.Note, Seal.TypeLine, Seal.Keys, signed: true, out var note, out _));
        sealFrame.Note = AuditNote.AppendSignature(note!.SignedBytes, OtherS(note.Signature));
        store.Objects[Seg(last)] = surgeon.Encode();
        // The checkpoint object describes that seal's final state; drop it so only the seal speaks.
        store.Objects.Remove("gw-1/checkpoint");

        using var key = _dir.LoadPublicKey();
        Assert.True(key.Verify(note.SignedBytes, OtherS(note.Signature))); // still a valid ECDSA signature
        var report = await new LogVerifier(store, key).VerifyAsync("mem", null);
        Assert.False(report.Valid);
        Assert.Equal("high-s", report.FirstError!.Code);
        Assert.Equal(last, report.FirstError.Segment);
    }

    [Fact]
    public async Task A_version_1_checkpoint_may_carry_either_s_a_version_2_one_only_low_s()
    {
        await SampleEvents.WriteLogAsync(_dir.Options(), 5);
        var store = InMemorySegmentStore.FromDirectory(_dir.Segments);
        Assert.True(Checkpoint.TryDecode(store.Objects["gw-1/checkpoint"], out var cp, out _, out _));
        using var signer = AuditSigner.FromPemFile(_dir.PrivateKey);
        using var key = _dir.LoadPublicKey();

        byte[] HighS(Checkpoint c)
        {
            byte[] unsigned = c.EncodeUnsigned();
            byte[] sig = signer.Sign(unsigned);
            return AuditNote.AppendSignature(unsigned, OtherS(sig));
        }

        var v1 = await new LogVerifier(store, key).VerifyAsync("mem", HighS(cp! with { Version = 1 }));
        Assert.True(v1.Valid, v1.FirstError?.Message);
        var v2 = await new LogVerifier(store, key).VerifyAsync("mem", HighS(cp!));
        Assert.False(v2.Valid);
        Assert.Equal("high-s", v2.FirstError!.Code);
    }

    [Fact]
    public async Task Segments_signed_by_two_keys_verify_with_both_keys_given_and_name_the_missing_one_otherwise()
    {
        var options = _dir.Options();
        await SampleEvents.WriteLogAsync(options, 3);
        // Key rotation: the gateway restarts with a new key; the next segments name it.
        string rotated = Path.Combine(_dir.Root, "keys-2");
        Directory.CreateDirectory(rotated);
        AuditKeys.Generate(Path.Combine(rotated, "k2.pem"), Path.Combine(rotated, "k2.pub.pem"));
        options.SigningKeyPath = Path.Combine(rotated, "k2.pem");
        options.PreviousPublicKeys = [_dir.PublicKey]; // the operator vouches for the key the chain so far was signed with
        await SampleEvents.WriteLogAsync(options, 3);

        var (code, output) = await VerifyAsync(_dir.Segments, "--key", _dir.PublicKey);
        Assert.Equal(VerifyCommand.Invalid, code);
        using (var k2 = AuditPublicKey.FromPemFile(Path.Combine(rotated, "k2.pub.pem")))
            Assert.True(output.Contains("[untrusted-key]", StringComparison.Ordinal) && output.Contains("signed by key " + k2.KeyId, StringComparison.Ordinal), output);

        (code, output) = await VerifyAsync(_dir.Segments, "--key", _dir.PublicKey, "--key", Path.Combine(rotated, "k2.pub.pem"));
        Assert.True(code == VerifyCommand.Valid, output);

        string folder = Path.Combine(_dir.Root, "trusted");
        Directory.CreateDirectory(folder);
        File.Copy(_dir.PublicKey, Path.Combine(folder, "a.pem"));
        File.Copy(Path.Combine(rotated, "k2.pub.pem"), Path.Combine(folder, "b.pem"));
        (code, output) = await VerifyAsync(_dir.Segments, "--key", folder);
        Assert.True(code == VerifyCommand.Valid, output);
    }

    [Fact]
    public async Task A_seal_naming_another_trusted_key_than_its_header_is_a_key_mismatch()
    {
        await SampleEvents.WriteLogAsync(_dir.Options(), 40, perSegment: 1);
        var store = InMemorySegmentStore.FromDirectory(_dir.Segments);
        string other = Path.Combine(_dir.Root, "other");
        Directory.CreateDirectory(other);
        AuditKeys.Generate(Path.Combine(other, "o.pem"), Path.Combine(other, "o.pub.pem"));
        using var otherSigner = AuditSigner.FromPemFile(Path.Combine(other, "o.pem"));

        var surgeon = SegmentSurgeon.Parse(store.Objects[Seg(2)]);
        var sealFrame = surgeon.Frames.Find(f => f.Kind == FrameKind.Seal)!;
        Assert.True(Seal.TryDecode(sealFrame.Note, out var seal, out _, out _));
        byte[] unsigned = (seal! with { KeyId = otherSigner.KeyId }).EncodeUnsigned();
        sealFrame.Note = AuditNote.AppendSignature(unsigned, otherSigner.Sign(unsigned));
        store.Objects[Seg(2)] = surgeon.Encode();

        using var keys = TrustedKeys.Load([_dir.PublicKey, Path.Combine(other, "o.pub.pem")]);
        var report = await new LogVerifier(store, keys).VerifyAsync("mem", null);
        Assert.False(report.Valid);
        Assert.Equal("key-mismatch", report.FirstError!.Code);
        Assert.Equal(2, report.FirstError.Segment);
    }

    [Fact]
    public async Task A_kept_checkpoint_naming_another_key_than_its_segment_is_a_key_mismatch()
    {
        await SampleEvents.WriteLogAsync(_dir.Options(), 5);
        var store = InMemorySegmentStore.FromDirectory(_dir.Segments);
        Assert.True(Checkpoint.TryDecode(store.Objects["gw-1/checkpoint"], out var cp, out _, out _));
        string other = Path.Combine(_dir.Root, "other");
        Directory.CreateDirectory(other);
        AuditKeys.Generate(Path.Combine(other, "o.pem"), Path.Combine(other, "o.pub.pem"));
        using var otherSigner = AuditSigner.FromPemFile(Path.Combine(other, "o.pem"));
        byte[] unsigned = (cp! with { KeyId = otherSigner.KeyId }).EncodeUnsigned();

        using var keys = TrustedKeys.Load([_dir.PublicKey, Path.Combine(other, "o.pub.pem")]);
        var report = await new LogVerifier(store, keys).VerifyAsync("mem", AuditNote.AppendSignature(unsigned, otherSigner.Sign(unsigned)));
        Assert.False(report.Valid);
        Assert.Equal("key-mismatch", report.FirstError!.Code);
    }

    private static async Task<(int Code, string Output)> VerifyAsync(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = await VerifyCommand.RunAsync(args, stdout, stderr);
        return (code, stdout.ToString() + stderr);
    }
}
