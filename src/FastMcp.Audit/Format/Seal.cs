using System.Globalization;

namespace FastMcp.Audit.Format;

/// <summary>The last frame of a sealed segment: signed totals, chain head and Merkle root of its records.</summary>
public sealed record Seal(
    string Chain, long Segment, long FirstSequence, long RecordCount, byte[] Head, byte[] Root, byte[] HeaderHash,
    long SealedMicros, bool Recovered, string KeyId)
{
    public const string TypeLine = "fastmcp-audit-seal v1";
    public static readonly string[] Keys = ["chain", "segment", "first-sequence", "record-count", "head", "root", "header", "sealed", "recovered", "key"];

    public byte[] EncodeUnsigned() => AuditNote.Compose(TypeLine, [
        ("chain", Chain),
        ("segment", Segment.ToString(CultureInfo.InvariantCulture)),
        ("first-sequence", FirstSequence.ToString(CultureInfo.InvariantCulture)),
        ("record-count", RecordCount.ToString(CultureInfo.InvariantCulture)),
        ("head", NoteValues.Hash(Head)),
        ("root", NoteValues.Hash(Root)),
        ("header", NoteValues.Hash(HeaderHash)),
        ("sealed", NoteValues.Time(SealedMicros)),
        ("recovered", Recovered ? "yes" : "no"),
        ("key", KeyId),
    ]);

    public static bool TryDecode(ReadOnlySpan<byte> payload, out Seal? seal, out AuditNote? note, out string? error)
    {
        seal = null;
        if (!AuditNote.TryParse(payload, TypeLine, Keys, signed: true, out note, out error)) return false;
        var r = new NoteReader(note!);
        var s = new Seal(r.Chain("chain"), r.Long("segment"), r.Long("first-sequence"), r.Long("record-count"),
            r.Hash("head"), r.Hash("root"), r.Hash("header"), r.Time("sealed"), r.Flag("recovered"), r.Text("key"));
        if (r.Error is not null) { error = r.Error; return false; }
        seal = s;
        return true;
    }
}
