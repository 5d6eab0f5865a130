using System.Globalization;
using System.Security.Cryptography;

namespace FastMcp.Audit.Format;

/// <summary>
/// The first frame of a segment: which chain and segment it is, what it continues, and (version 2)
/// what the writer found when it started it (<see cref="StartState"/>). Version 1 headers are still read.
/// </summary>
public sealed record SegmentHeader(
    string Chain, long Segment, long FirstSequence, long CreatedMicros, long CheckpointIntervalMs,
    string KeyId, byte[] PrevSeal, byte[] PrevHead, SegmentStart? StartState = null)
{
    /// <summary>Version 1: no start state; signatures (when signed) in either ECDSA s form.</summary>
    public const string TypeLineV1 = "fastmcp-audit-segment v1";
    /// <summary>Version 2, written now: start state fields; notes of the segment signed low-s (docs/audit-format.md §2).</summary>
    public const string TypeLine = "fastmcp-audit-segment v2";
    public static readonly string[] KeysV1 = ["chain", "segment", "first-sequence", "created", "checkpoint-interval-ms", "key", "prev-seal", "prev-head"];
    public static readonly string[] Keys = [.. KeysV1, .. SegmentStart.Keys];

    /// <summary>1 when read from a version 1 header (no start state), else 2.</summary>
    public int Version => StartState is null ? 1 : 2;

    /// <summary>Encodes a version 2 header; <see cref="StartState"/> defaults to "no recovery, last signed = created".</summary>
    public byte[] Encode()
    {
        var start = StartState ?? SegmentStart.Clean(CreatedMicros);
        return AuditNote.Compose(TypeLine, [
            ("chain", Chain),
            ("segment", Segment.ToString(CultureInfo.InvariantCulture)),
            ("first-sequence", FirstSequence.ToString(CultureInfo.InvariantCulture)),
            ("created", NoteValues.Time(CreatedMicros)),
            ("checkpoint-interval-ms", CheckpointIntervalMs.ToString(CultureInfo.InvariantCulture)),
            ("key", KeyId),
            ("prev-seal", NoteValues.Hash(PrevSeal)),
            ("prev-head", NoteValues.Hash(PrevHead)),
            .. start.Fields(),
        ]);
    }

    /// <summary>The chain value before a segment's first record: SHA-256 of the header note bytes.</summary>
    public static byte[] ChainStart(ReadOnlySpan<byte> headerNote) => SHA256.HashData(headerNote);

    public static bool TryDecode(ReadOnlySpan<byte> payload, out SegmentHeader? header, out string? error)
    {
        header = null;
        bool v1 = payload.StartsWith(System.Text.Encoding.ASCII.GetBytes(TypeLineV1 + "\n"));
        if (!AuditNote.TryParse(payload, v1 ? TypeLineV1 : TypeLine, v1 ? KeysV1 : Keys, signed: false, out var note, out error)) return false;
        var r = new NoteReader(note!);
        var h = new SegmentHeader(r.Chain("chain"), r.Long("segment"), r.Long("first-sequence"), r.Time("created"),
            r.Long("checkpoint-interval-ms"), r.Text("key"), r.Hash("prev-seal"), r.Hash("prev-head"));
        if (!v1)
        {
            var start = SegmentStart.Read(ref r);
            if (r.Error is null && start is null) return Fail("start state fields are inconsistent", out error);
            h = h with { StartState = start };
        }
        if (r.Error is null && h.Segment < 1) return Fail("segment index must start at 1", out error);
        if (r.Error is not null) return Fail(r.Error, out error);
        header = h;
        return true;
    }

    private static bool Fail(string message, out string? error) { error = message; return false; }
}
