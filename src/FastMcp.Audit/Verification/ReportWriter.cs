using System.Text;
using System.Text.Json;
using FastMcp.Text;

namespace FastMcp.Audit.Verification;

/// <summary>Renders a <see cref="VerificationReport"/> for people (text) or machines (JSON).</summary>
public static class ReportWriter
{
    public static void WriteText(VerificationReport report, TextWriter output)
    {
        output.WriteLine(PrintableText.Escape($"fastmcp-verify: {report.Location}"));
        foreach (var e in report.Errors) output.WriteLine(PrintableText.Escape("  ERROR " + Describe(e)));
        foreach (var c in report.Chains)
        {
            string range = c.NextSequence == 0 ? "no records" : $"sequence 0..{c.NextSequence - 1}";
            output.WriteLine(PrintableText.Escape($"chain {c.Chain}: {(c.Valid ? "VALID" : "INVALID")}: {c.SegmentsVerified} segments, {c.RecordsVerified} records ({range}), {c.CheckpointsVerified} checkpoints verified"));
            if (c.Errors.Count > 0) output.WriteLine(PrintableText.Escape("  first bad: " + Describe(c.Errors[0])));
            for (int i = 1; i < c.Errors.Count; i++) output.WriteLine(PrintableText.Escape("  also: " + Describe(c.Errors[i])));
            foreach (var r in c.Recoveries) output.WriteLine(PrintableText.Escape("  recovery: " + Describe(r)));
            foreach (var w in c.Warnings) output.WriteLine(PrintableText.Escape("  warning: " + Describe(w)));
        }
        if (report.SinceCheckpoint is not null) output.WriteLine(PrintableText.Escape("since checkpoint: " + report.SinceCheckpoint));
        output.WriteLine(report.Valid ? "RESULT: VALID" : "RESULT: INVALID");
    }

    /// <summary>
    /// What a crash recovery means for trust: records a signed checkpoint covered before the crash,
    /// records only the recovery seal covers, what was cut. Never a blanket "not tampering": records
    /// after the last checkpoint could have been edited by anyone with write access before the restart.
    /// </summary>
    public static string Describe(RecoveryFinding r)
    {
        var sb = new StringBuilder();
        sb.Append("segment ").Append(r.Segment).Append(" was sealed by crash recovery at ").Append(Format.NoteValues.Time(r.SealedMicros)).Append(": ");
        sb.Append(r.Records).Append(" records; ");
        sb.Append(r.CoveredRecords).Append(" covered by a signed checkpoint");
        if (r.LastCheckpointMicros is { } t) sb.Append(" (the last signed ").Append(Format.NoteValues.Time(t)).Append(')');
        sb.Append(", ").Append(r.UncoveredRecords).Append(" not covered by any signature made before the crash");
        if (r.UncoveredRecords > 0) sb.Append(" (their integrity rests on the recovery seal alone)");
        sb.Append("; ");
        sb.Append(r.CutBytes is { } cut ? $"{cut} bytes cut" : "bytes cut not stated (no version 2 header after it)");
        if (r.LostRecords is > 0) sb.Append("; at least ").Append(r.LostRecords).Append(" acknowledged records lost");
        return sb.ToString();
    }

    public static string Describe(Finding f)
    {
        var sb = new StringBuilder();
        if (f.Segment is { } s) sb.Append("segment ").Append(s);
        if (f.Object is { } o) sb.Append(sb.Length > 0 ? " (" : "(").Append(o).Append(')');
        if (f.Sequence is { } q) sb.Append(sb.Length > 0 ? ", " : "").Append("record ").Append(q);
        if (f.Offset is { } off) sb.Append(sb.Length > 0 ? ", " : "").Append("offset ").Append(off);
        if (sb.Length > 0) sb.Append(": ");
        sb.Append('[').Append(f.Code).Append("] ").Append(f.Message);
        return sb.ToString();
    }

    public static void WriteJson(VerificationReport report, Stream output)
    {
        using var w = new Utf8JsonWriter(output, new JsonWriterOptions { Indented = true });
        w.WriteStartObject();
        w.WriteString("location", report.Location);
        w.WriteBoolean("valid", report.Valid);
        if (report.SinceCheckpoint is not null) w.WriteString("sinceCheckpoint", report.SinceCheckpoint);
        WriteFindings(w, "errors", report.Errors);
        w.WriteStartArray("chains");
        foreach (var c in report.Chains)
        {
            w.WriteStartObject();
            w.WriteString("chain", c.Chain);
            w.WriteBoolean("valid", c.Valid);
            w.WriteNumber("segments", c.SegmentsVerified);
            w.WriteNumber("records", c.RecordsVerified);
            w.WriteNumber("nextSequence", c.NextSequence);
            w.WriteNumber("checkpoints", c.CheckpointsVerified);
            w.WriteStartArray("recoveries");
            foreach (var r in c.Recoveries)
            {
                w.WriteStartObject();
                w.WriteNumber("segment", r.Segment);
                w.WriteNumber("records", r.Records);
                w.WriteNumber("coveredRecords", r.CoveredRecords);
                w.WriteNumber("uncoveredRecords", r.UncoveredRecords);
                if (r.LastCheckpointMicros is { } t) w.WriteString("lastCheckpoint", Format.NoteValues.Time(t));
                w.WriteString("sealed", Format.NoteValues.Time(r.SealedMicros));
                if (r.CutBytes is { } cut) w.WriteNumber("cutBytes", cut);
                if (r.LostRecords is { } lost) w.WriteNumber("lostRecords", lost);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            WriteFindings(w, "errors", c.Errors);
            WriteFindings(w, "warnings", c.Warnings);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void WriteFindings(Utf8JsonWriter w, string name, List<Finding> findings)
    {
        w.WriteStartArray(name);
        foreach (var f in findings)
        {
            w.WriteStartObject();
            w.WriteString("code", f.Code);
            w.WriteString("message", f.Message);
            if (f.Segment is { } s) w.WriteNumber("segment", s);
            if (f.Sequence is { } q) w.WriteNumber("record", q);
            if (f.Offset is { } o) w.WriteNumber("offset", o);
            if (f.Object is { } k) w.WriteString("object", k);
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }
}
