using System.Globalization;
using System.Security.Cryptography;

namespace FastMcp.Audit.Format;

/// <summary>The first frame of a segment: which chain and segment it is and what it continues.</summary>
public sealed record SegmentHeader(
    string Chain, long Segment, long FirstSequence, long CreatedMicros, long CheckpointIntervalMs,
    string KeyId, byte[] PrevSeal, byte[] PrevHead)
{
    public const string TypeLine = "fastmcp-audit-segment v1";
    public static readonly string[] Keys = ["chain", "segment", "first-sequence", "created", "checkpoint-interval-ms", "key", "prev-seal", "prev-head"];

    public byte[] Encode() => AuditNote.Compose(TypeLine, [
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
        if (!AuditNote.TryParse(payload, TypeLine, Keys, signed: false, out var note, out error)) return false;
        var r = new NoteReader(note!);
        var h = new SegmentHeader(r.Chain("chain"), r.Long("segment"), r.Long("first-sequence"), r.Time("created"),
            r.Long("checkpoint-interval-ms"), r.Text("key"), r.Hash("prev-seal"), r.Hash("prev-head"));
        if (r.Error is null && h.Segment < 1) return Fail("segment index must start at 1", out error);
        if (r.Error is not null) return Fail(r.Error, out error);
        header = h;
        return true;
    }

    private static bool Fail(string message, out string? error) { error = message; return false; }
}
