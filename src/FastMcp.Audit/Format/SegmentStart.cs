using System.Globalization;

namespace FastMcp.Audit.Format;

/// <summary>How a segment came to be started: after a rotation or clean start, after an honest crash, or after tampering was found.</summary>
public enum StartRecovery
{
    /// <summary>Rotation, first start or a clean restart: nothing was recovered.</summary>
    None,
    /// <summary>The previous segment was left open by a crash; its torn tail was cut and it was sealed with recovered: yes.</summary>
    Crash,
    /// <summary>The open segment contradicted a signed checkpoint or seal; it was set aside unsealed and this segment continues from the last verified state.</summary>
    Tampered,
}

/// <summary>
/// The version 2 header fields describing what the writer found when it started the segment
/// (docs/audit-format.md §4.1). The header is covered by the segment's seal and checkpoints, so
/// these are signed statements once the first checkpoint is written.
/// </summary>
public sealed record SegmentStart(
    StartRecovery Recovery, long RecoveredSegment, long CoveredRecords, long UncoveredRecords, long CutBytes,
    long LostRecords, long LastSignedMicros, byte[]? PrevCheckpoint, string? Tampering)
{
    public static readonly string[] Keys =
        ["recovery", "recovered-segment", "covered-records", "uncovered-records", "cut-bytes", "lost-records", "last-signed", "prev-checkpoint", "tampering"];

    public const string NoneValue = "none";

    /// <summary>Nothing recovered; <paramref name="lastSignedMicros"/> is the newest signed statement before the segment (the previous seal), or its creation time.</summary>
    public static SegmentStart Clean(long lastSignedMicros) => new(StartRecovery.None, 0, 0, 0, 0, 0, lastSignedMicros, null, null);

    public static string Name(StartRecovery r) => r switch
    {
        StartRecovery.Crash => "crash",
        StartRecovery.Tampered => "tampered",
        _ => NoneValue,
    };

    internal (string Key, string Value)[] Fields() =>
    [
        ("recovery", Name(Recovery)),
        ("recovered-segment", RecoveredSegment.ToString(CultureInfo.InvariantCulture)),
        ("covered-records", CoveredRecords.ToString(CultureInfo.InvariantCulture)),
        ("uncovered-records", UncoveredRecords.ToString(CultureInfo.InvariantCulture)),
        ("cut-bytes", CutBytes.ToString(CultureInfo.InvariantCulture)),
        ("lost-records", LostRecords.ToString(CultureInfo.InvariantCulture)),
        ("last-signed", NoteValues.Time(LastSignedMicros)),
        ("prev-checkpoint", PrevCheckpoint is null ? NoneValue : Convert.ToBase64String(PrevCheckpoint)),
        ("tampering", string.IsNullOrEmpty(Tampering) ? NoneValue : OneLine(Tampering)),
    ];

    /// <summary>Free text is kept to one line of printable characters so the note stays line-structured.</summary>
    private static string OneLine(string s)
    {
        var chars = s.ToCharArray();
        for (int i = 0; i < chars.Length; i++) if (char.IsControl(chars[i])) chars[i] = ' ';
        return new string(chars).Trim();
    }

    /// <summary>Reads the fields; null (with no reader error) when they contradict each other.</summary>
    internal static SegmentStart? Read(ref NoteReader r)
    {
        StartRecovery recovery;
        switch (r.Text("recovery"))
        {
            case "none": recovery = StartRecovery.None; break;
            case "crash": recovery = StartRecovery.Crash; break;
            case "tampered": recovery = StartRecovery.Tampered; break;
            default: r.Fail("note field 'recovery' is not none, crash or tampered"); return null;
        }
        long segment = r.Long("recovered-segment");
        long covered = r.Long("covered-records");
        long uncovered = r.Long("uncovered-records");
        long cut = r.Long("cut-bytes");
        long lost = r.Long("lost-records");
        long lastSigned = r.Time("last-signed");
        string prevText = r.Text("prev-checkpoint");
        byte[]? prev = null;
        if (prevText != NoneValue)
        {
            try { prev = Convert.FromBase64String(prevText); }
            catch (FormatException) { r.Fail("note field 'prev-checkpoint' is not base64"); return null; }
            if (prev.Length == 0 || Convert.ToBase64String(prev) != prevText) { r.Fail("note field 'prev-checkpoint' is not canonical base64"); return null; }
        }
        string tamperingText = r.Text("tampering");
        string? tampering = tamperingText == NoneValue ? null : tamperingText;
        if (r.Error is not null) return null;
        bool consistent = recovery switch
        {
            StartRecovery.None => segment == 0 && covered == 0 && uncovered == 0 && cut == 0 && lost == 0 && prev is null,
            StartRecovery.Crash => segment > 0 && prev is null,
            _ => segment > 0 && tampering is not null,
        };
        return consistent ? new SegmentStart(recovery, segment, covered, uncovered, cut, lost, lastSigned, prev, tampering) : null;
    }
}
