using System.Buffers;
using System.Security.Cryptography;
using System.Text.Json;
using FastMcp.Audit.Crypto;
using FastMcp.Audit.Format;
using FastMcp.Audit.Shipping;

namespace FastMcp.Audit.Verification;

/// <summary>
/// A self-contained inclusion proof for one record: the record body, its RFC 6962 audit path in its
/// segment's Merkle tree, and the signed seal holding that tree's root. Checkable with the public key
/// alone, without any other record.
/// </summary>
public sealed class RecordProof
{
    public const string TypeName = "fastmcp-audit-inclusion-proof v1";

    public string Chain { get; init; } = "";
    public long Segment { get; init; }
    public long Sequence { get; init; }
    public long LeafIndex { get; init; }
    public long TreeSize { get; init; }
    public byte[] Record { get; init; } = [];
    public List<byte[]> Path { get; init; } = new();
    public byte[] SealNote { get; init; } = [];
    /// <summary>
    /// Segments set aside as tampered (§7.2) that the walk to this record's segment stepped past. The proof
    /// itself stands (its seal is signed), but the chain it comes from does not verify; the prover says so.
    /// Not part of the proof file.
    /// </summary>
    public IReadOnlyList<string> ChainGaps { get; init; } = [];

    /// <summary>Finds the sealed segment holding <paramref name="sequence"/>, verifies it fully, and builds the proof.</summary>
    public static Task<RecordProof> CreateAsync(ISegmentStore store, AuditPublicKey key, string? chain, long sequence, CancellationToken ct = default) =>
        CreateAsync(store, TrustedKeys.Of(key), chain, sequence, ct);

    public static async Task<RecordProof> CreateAsync(ISegmentStore store, TrustedKeys keys, string? chain, long sequence, CancellationToken ct = default)
    {
        var chains = await ChainFiles.DiscoverAsync(store, ct).ConfigureAwait(false);
        var files = chain is null
            ? (chains.Count == 1 ? chains[0] : throw new InvalidOperationException("several chains found; name one with --chain"))
            : chains.Find(c => c.Chain == chain) ?? throw new InvalidOperationException($"chain '{chain}' not found");
        var expect = new SegmentExpectation(files.Chain.Length == 0 ? null : files.Chain, 1, 0, new byte[32], new byte[32]);
        using var walk = new SegmentWalk(keys) { LeafHashes = new List<byte[]>() };
        var gaps = new List<string>();
        foreach (var (index, objectKey) in files.Segments)
        {
            var data = await store.GetAsync(objectKey, ct).ConfigureAwait(false) ?? throw new IOException($"{objectKey} vanished");
            if (index != expect.Index)
            {
                // Only a gap of one segment that the next header explains as set aside (§7.2) can be walked past.
                long missing = expect.Index;
                if (index != missing + 1 || SetAsideLink.Resolve(keys, missing, expect, data) is not { } gap)
                    throw new InvalidDataException($"segment {missing} is missing (deleted); no proof can be made past it");
                if (gap.Error is { } linkError) throw new InvalidDataException($"segment {missing} was set aside as tampered and {linkError}");
                var next = gap.Next!.Value;
                string setAside = $"set aside as tampered by the writer ({gap.Tampering})";
                if (sequence < next.FirstSequence)
                    throw new InvalidDataException($"record {sequence} was in segment {missing}, which was {setAside}; no sealed segment holds it: " +
                        $"records {expect.FirstSequence}..{next.FirstSequence - 1} are vouched for only by the signed checkpoint segment {index} continues from");
                gaps.Add($"segment {missing} was {setAside}; segment {index} continues from {(gap.LinkCheckpoint is { } cp ? $"its signed checkpoint at sequence {cp.Sequence}" : missing == 1 ? "the chain start" : $"the seal of segment {missing - 1}")}; the log is INVALID (run fastmcp-verify)");
                expect = next;
            }
            var outcome = walk.Walk(data, expect, mayBeOpen: false, []);
            if (outcome.Error is { } error) throw new InvalidDataException("the log does not verify: " + ReportWriter.Describe(error));
            var seal = outcome.Seal!;
            if (sequence < seal.FirstSequence + seal.RecordCount)
            {
                int leaf = (int)(sequence - seal.FirstSequence);
                byte[]? body = null;
                walk.LeafHashes!.Clear();
                walk.OnRecord = (_, b) => { if (RecordLayout.ReadSequence(b) == sequence) body = b.ToArray(); };
                walk.Walk(data, expect, mayBeOpen: false, []);
                return new RecordProof
                {
                    Chain = seal.Chain,
                    Segment = index,
                    Sequence = sequence,
                    LeafIndex = leaf,
                    TreeSize = seal.RecordCount,
                    Record = body!,
                    Path = InclusionProof.Create(walk.LeafHashes.ToArray(), leaf),
                    SealNote = outcome.SealNote!,
                    ChainGaps = gaps,
                };
            }
            expect = new SegmentExpectation(seal.Chain, index + 1, seal.FirstSequence + seal.RecordCount, SHA256.HashData(outcome.SealNote!), seal.Head);
            walk.LeafHashes!.Clear();
        }
        throw new InvalidOperationException($"record {sequence} is not in a sealed segment");
    }

    /// <summary>Checks every field: seal signature and contents, leaf position, record sequence, and the path to the root.</summary>
    public bool Check(AuditPublicKey key, out string reason) => Check(TrustedKeys.Of(key), out reason);

    public bool Check(TrustedKeys keys, out string reason)
    {
        if (!Seal.TryDecode(SealNote, out var seal, out var note, out var error)) { reason = "seal cannot be read: " + error; return false; }
        if (NoteSignatures.Check(keys, note!, seal!.KeyId, null, "seal", "the proof's seal") is { } bad) { reason = bad.Message; return false; }
        if (seal!.Chain != Chain || seal.Segment != Segment) { reason = "proof names another chain or segment than its seal"; return false; }
        if (TreeSize != seal.RecordCount) { reason = "tree size differs from the seal's record count"; return false; }
        if (LeafIndex != Sequence - seal.FirstSequence || LeafIndex < 0 || LeafIndex >= TreeSize) { reason = "leaf index does not match the record's sequence"; return false; }
        if (Record.Length < RecordLayout.BodyPrefix + 2 || RecordLayout.ReadSequence(Record) != Sequence) { reason = "the record's own sequence differs"; return false; }
        if (!InclusionProof.Verify(LeafIndex, TreeSize, Rfc6962.LeafHash(Record), Path, seal.Root)) { reason = "audit path does not lead to the sealed Merkle root"; return false; }
        reason = $"record {Sequence} is included in sealed segment {Segment} of chain {Chain}";
        return true;
    }

    public byte[] ToJson()
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("type", TypeName);
            w.WriteString("chain", Chain);
            w.WriteNumber("segment", Segment);
            w.WriteNumber("sequence", Sequence);
            w.WriteNumber("leafIndex", LeafIndex);
            w.WriteNumber("treeSize", TreeSize);
            w.WriteBase64String("record", Record);
            w.WriteStartArray("path");
            foreach (var p in Path) w.WriteStringValue(Convert.ToHexStringLower(p));
            w.WriteEndArray();
            w.WriteBase64String("seal", SealNote);
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    public static RecordProof Parse(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json);
        using var doc = JsonDocument.ParseValue(ref reader);
        var root = doc.RootElement;
        if (root.GetProperty("type").GetString() != TypeName) throw new InvalidDataException("not a fastmcp inclusion proof");
        var path = new List<byte[]>();
        foreach (var p in root.GetProperty("path").EnumerateArray())
        {
            if (!NoteValues.TryHash(p.GetString() ?? "", out var h)) throw new InvalidDataException("path entry is not a 64-digit hex hash");
            path.Add(h);
        }
        return new RecordProof
        {
            Chain = root.GetProperty("chain").GetString() ?? "",
            Segment = root.GetProperty("segment").GetInt64(),
            Sequence = root.GetProperty("sequence").GetInt64(),
            LeafIndex = root.GetProperty("leafIndex").GetInt64(),
            TreeSize = root.GetProperty("treeSize").GetInt64(),
            Record = root.GetProperty("record").GetBytesFromBase64(),
            Path = path,
            SealNote = root.GetProperty("seal").GetBytesFromBase64(),
        };
    }
}
