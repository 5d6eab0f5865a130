using System.Globalization;
using System.Security.Cryptography;

namespace FastMcp.Audit.Format;

/// <summary>The first frame of a segment: which chain and segment it is and what it continues.</summary>
public sealed record SegmentHeader(
    string Chain, long Segment, long FirstSequence, long CreatedMicros, long CheckpointIntervalMs,
    string KeyId, byte[] PrevSeal, byte[] PrevHead)
{
    /// <summary>Version 1: the same fields; signatures (when signed) in either ECDSA s form.</summary>
    public const string TypeLineV1 = "fastmcp-audit-segment v1";
    /// <summary>Version 2, written now: signatures low-s (docs/audit-format.md §2), key ids consistent within a segment.</summary>
    public const string TypeLine = "fastmcp-audit-segment v2";
    private static readonly string[] TypeLines = [TypeLine, TypeLineV1];

    /// <summary>The note version (2 unless decoded from a version 1 note).</summary>
    public int Version { get; init; } = 2;
    public static readonly string[] Keys = ["chain", "segment", "first-sequence", "created", "checkpoint-interval-ms", "key", "prev-seal", "prev-head"];

    public byte[] Encode() => AuditNote.Compose(Version == 1 ? TypeLineV1 : TypeLine, [
        ("chain", Chain),
        ("segment", Segment.ToString(CultureInfo.InvariantCulture)),
        ("first-sequence", FirstSequence.ToString(CultureInfo.InvariantCulture)),
        ("created", NoteValues.Time(CreatedMicros)),
        ("checkpoint-interval-ms", CheckpointIntervalMs.ToString(CultureInfo.InvariantCulture)),
        ("key", KeyId),
        ("prev-seal", NoteValues.Hash(PrevSeal)),
        ("prev-head", NoteValues.Hash(PrevHead)),
    ]);

    /// <summary>The chain value before a segment's first record: SHA-256 of the header note bytes.</summary>
    public static byte[] ChainStart(ReadOnlySpan<byte> headerNote) => SHA256.HashData(headerNote);

    public static bool TryDecode(ReadOnlySpan<byte> payload, out SegmentHeader? header, out string? error)
    {
        header = null;
        if (!AuditNote.TryParse(payload, TypeLines, Keys, signed: false, out var note, out error)) return false;
        var r = new NoteReader(note!);
        var h = new SegmentHeader(r.Chain("chain"), r.Long("segment"), r.Long("first-sequence"), r.Time("created"),
            r.Long("checkpoint-interval-ms"), r.Text("key"), r.Hash("prev-seal"), r.Hash("prev-head")) { Version = note!.Version };
        if (r.Error is null && h.Segment < 1) return Fail("segment index must start at 1", out error);
        if (r.Error is not null) return Fail(r.Error, out error);
        header = h;
        return true;
    }

    private static bool Fail(string message, out string? error) { error = message; return false; }
}
