using System.Globalization;

namespace FastMcp.Audit.Format;

/// <summary>
/// A signed statement of the chain's state: after <see cref="Sequence"/> records in total the head is
/// <see cref="Head"/>. Written into segments and as the standalone "checkpoint" file auditors keep.
/// Version 2 adds <see cref="Acknowledged"/>: how many sequences the writer had answered when it signed,
/// which in batched durability can be more than are durable (the crash-loss window). Version 1 is still read.
/// </summary>
public sealed record Checkpoint(
    string Chain, long Segment, long Sequence, long SegmentRecords, byte[] Head, byte[] Root, long TimeMicros, string KeyId, long? Acknowledged = null)
{
    /// <summary>Version 1: no acknowledged count; signatures (when signed) in either ECDSA s form.</summary>
    public const string TypeLineV1 = "fastmcp-audit-checkpoint v1";
    /// <summary>Version 2, written now: adds acknowledged; signatures low-s (docs/audit-format.md §2).</summary>
    public const string TypeLine = "fastmcp-audit-checkpoint v2";
    public static readonly string[] KeysV1 = ["chain", "segment", "sequence", "segment-records", "head", "root", "time", "key"];
    public static readonly string[] Keys = ["chain", "segment", "sequence", "segment-records", "acknowledged", "head", "root", "time", "key"];

    /// <summary>The note version (2 unless decoded from a version 1 note).</summary>
    public int Version { get; init; } = 2;

    /// <summary>Sequences answered when signed; a version 1 checkpoint only vouches for <see cref="Sequence"/>.</summary>
    public long AcknowledgedOrSequence => Acknowledged ?? Sequence;

    public byte[] EncodeUnsigned() => AuditNote.Compose(Version == 1 ? TypeLineV1 : TypeLine, [
        ("chain", Chain),
        ("segment", Segment.ToString(CultureInfo.InvariantCulture)),
        ("sequence", Sequence.ToString(CultureInfo.InvariantCulture)),
        ("segment-records", SegmentRecords.ToString(CultureInfo.InvariantCulture)),
        .. (Version == 1 ? (ReadOnlySpan<(string, string)>)[] : [("acknowledged", AcknowledgedOrSequence.ToString(CultureInfo.InvariantCulture))]),
        ("head", NoteValues.Hash(Head)),
        ("root", NoteValues.Hash(Root)),
        ("time", NoteValues.Time(TimeMicros)),
        ("key", KeyId),
    ]);

    public static bool TryDecode(ReadOnlySpan<byte> payload, out Checkpoint? checkpoint, out AuditNote? note, out string? error)
    {
        checkpoint = null;
        bool v1 = payload.StartsWith(System.Text.Encoding.ASCII.GetBytes(TypeLineV1 + "\n"));
        if (!AuditNote.TryParse(payload, v1 ? TypeLineV1 : TypeLine, v1 ? KeysV1 : Keys, signed: true, out note, out error)) return false;
        var r = new NoteReader(note!);
        var c = new Checkpoint(r.Chain("chain"), r.Long("segment"), r.Long("sequence"), r.Long("segment-records"),
            r.Hash("head"), r.Hash("root"), r.Time("time"), r.Text("key"), v1 ? null : r.Long("acknowledged")) { Version = v1 ? 1 : 2 };
        if (r.Error is null && c.SegmentRecords > c.Sequence) r.Fail("segment-records exceeds sequence");
        if (r.Error is null && c.AcknowledgedOrSequence < c.Sequence) r.Fail("acknowledged is less than sequence");
        if (r.Error is not null) { error = r.Error; return false; }
        checkpoint = c;
        return true;
    }
}
