using System.Globalization;
using System.Text;
using FastMcp.Audit.Storage;

namespace FastMcp.Audit.Export;

/// <summary>
/// What the SIEM endpoint has acknowledged (2xx), kept in the chain folder as "export-cursor": the next sequence to
/// send, the segment of the last acknowledged record, and the highest segment all of whose records are acknowledged
/// (shipping may delete up to that one). Replaced durably (new file, fsync, rename) after every acknowledged POST.
/// </summary>
public sealed class ExportCursor
{
    public const string FileName = "export-cursor";
    private const string Magic = "fastmcp-export-cursor 1";

    /// <summary>The sequence of the first record not yet acknowledged.</summary>
    public long NextSequence { get; set; }
    /// <summary>The segment holding the last acknowledged record (0: none yet); reading resumes there.</summary>
    public long Segment { get; set; }
    /// <summary>Every record of segments up to this index is acknowledged (0: none).</summary>
    public long CompleteThrough { get; set; }

    /// <summary>The cursor in <paramref name="chainDir"/>, or a fresh one; a file that does not parse is refused (fail closed: delete it to export again from the oldest local segment).</summary>
    public static ExportCursor Load(IAuditFileSystem fs, string chainDir)
    {
        string path = Path.Combine(chainDir, FileName);
        if (!fs.Exists(path)) return new ExportCursor();
        string text = Encoding.UTF8.GetString(fs.ReadAllBytes(path));
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var cursor = new ExportCursor();
        if (lines.Length != 4 || lines[0] != Magic
            || !TryField(lines[1], "next-sequence", out long next) || !TryField(lines[2], "segment", out long segment) || !TryField(lines[3], "complete-through", out long complete))
            throw new InvalidDataException($"audit export: '{path}' is not an export cursor; delete it to export again from the oldest local segment");
        cursor.NextSequence = next;
        cursor.Segment = segment;
        cursor.CompleteThrough = complete;
        return cursor;
    }

    public void Save(IAuditFileSystem fs, string chainDir) =>
        fs.ReplaceDurably(Path.Combine(chainDir, FileName), Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture,
            $"{Magic}\nnext-sequence {NextSequence}\nsegment {Segment}\ncomplete-through {CompleteThrough}\n")));

    private static bool TryField(string line, string name, out long value)
    {
        value = 0;
        return line.StartsWith(name + " ", StringComparison.Ordinal)
            && long.TryParse(line.AsSpan(name.Length + 1), NumberStyles.None, CultureInfo.InvariantCulture, out value);
    }
}
