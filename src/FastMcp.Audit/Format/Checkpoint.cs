using System.Globalization;

namespace FastMcp.Audit.Format;

/// <summary>
/// A signed statement of the chain's state: after <see cref="Sequence"/> records in total the head is
/// <see cref="Head"/>. Written into segments and as the standalone "checkpoint" file auditors keep.
/// </summary>
public sealed record Checkpoint(
    string Chain, long Segment, long Sequence, long SegmentRecords, byte[] Head, byte[] Root, long TimeMicros, string KeyId)
{
    /// <summary>Version 1: the same fields; signatures (when signed) in either ECDSA s form.</summary>
    public const string TypeLineV1 = "fastmcp-audit-checkpoint v1";
    /// <summary>Version 2, written now: signatures low-s (docs/audit-format.md §2), key ids consistent within a segment.</summary>
    public const string TypeLine = "fastmcp-audit-checkpoint v2";
    private static readonly string[] TypeLines = [TypeLine, TypeLineV1];

    /// <summary>The note version (2 unless decoded from a version 1 note).</summary>
    public int Version { get; init; } = 2;
    public static readonly string[] Keys = ["chain", "segment", "sequence", "segment-records", "head", "root", "time", "key"];

    public byte[] EncodeUnsigned() => AuditNote.Compose(Version == 1 ? TypeLineV1 : TypeLine, [
        ("chain", Chain),
        ("segment", Segment.ToString(CultureInfo.InvariantCulture)),
        ("sequence", Sequence.ToString(CultureInfo.InvariantCulture)),
        ("segment-records", SegmentRecords.ToString(CultureInfo.InvariantCulture)),
        ("head", NoteValues.Hash(Head)),
        ("root", NoteValues.Hash(Root)),
        ("time", NoteValues.Time(TimeMicros)),
        ("key", KeyId),
    ]);

    public static bool TryDecode(ReadOnlySpan<byte> payload, out Checkpoint? checkpoint, out AuditNote? note, out string? error)
    {
        checkpoint = null;
        if (!AuditNote.TryParse(payload, TypeLines, Keys, signed: true, out note, out error)) return false;
        var r = new NoteReader(note!);
        var c = new Checkpoint(r.Chain("chain"), r.Long("segment"), r.Long("sequence"), r.Long("segment-records"),
            r.Hash("head"), r.Hash("root"), r.Time("time"), r.Text("key")) { Version = note!.Version };
        if (r.Error is not null) { error = r.Error; return false; }
        checkpoint = c;
        return true;
    }
}
