using System.Globalization;

namespace FastMcp.Audit.Format;

/// <summary>The last frame of a sealed segment: signed totals, chain head and Merkle root of its records.</summary>
public sealed record Seal(
    string Chain, long Segment, long FirstSequence, long RecordCount, byte[] Head, byte[] Root, byte[] HeaderHash,
    long SealedMicros, bool Recovered, string KeyId)
{
    /// <summary>Version 1: the same fields; signatures (when signed) in either ECDSA s form.</summary>
    public const string TypeLineV1 = "fastmcp-audit-seal v1";
    /// <summary>Version 2, written now: signatures low-s (docs/audit-format.md §2), key ids consistent within a segment.</summary>
    public const string TypeLine = "fastmcp-audit-seal v2";
    private static readonly string[] TypeLines = [TypeLine, TypeLineV1];

    /// <summary>The note version (2 unless decoded from a version 1 note).</summary>
    public int Version { get; init; } = 2;
    public static readonly string[] Keys = ["chain", "segment", "first-sequence", "record-count", "head", "root", "header", "sealed", "recovered", "key"];

    public byte[] EncodeUnsigned() => AuditNote.Compose(Version == 1 ? TypeLineV1 : TypeLine, [
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
        if (!AuditNote.TryParse(payload, TypeLines, Keys, signed: true, out note, out error)) return false;
        var r = new NoteReader(note!);
        var s = new Seal(r.Chain("chain"), r.Long("segment"), r.Long("first-sequence"), r.Long("record-count"),
            r.Hash("head"), r.Hash("root"), r.Hash("header"), r.Time("sealed"), r.Flag("recovered"), r.Text("key")) { Version = note!.Version };
        if (r.Error is not null) { error = r.Error; return false; }
        seal = s;
        return true;
    }
}
