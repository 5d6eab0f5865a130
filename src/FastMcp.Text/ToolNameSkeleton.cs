using System.Globalization;
using System.Text;

namespace FastMcp.Text;

/// <summary>
/// What a tool name looks like to a reader, for flagging a name that imitates another (<c>dеploy</c> with a Cyrillic е
/// next to <c>deploy</c>). Not Unicode's confusable detection (UTS #39): a small table of the common look-alikes, so a
/// flag is a hint to read closer, and matching anywhere else (policy, pins) stays exact. The skeleton of a name is
/// the name with: format characters (Unicode Cf: zero-width, bidirectional) and the blank Hangul fillers left out;
/// fullwidth ASCII (U+FF01-U+FF5E) as ASCII; the Cyrillic, Greek and Latin letters of <see cref="LookAlikes"/> as the
/// ASCII letter they look like; and <c>1</c>, <c>I</c>, <c>|</c> as <c>l</c>, <c>0</c> as <c>O</c>. Case is kept
/// (<c>Deploy</c> and <c>deploy</c> read differently). Two different names with one skeleton are confusable.
/// </summary>
public static class ToolNameSkeleton
{
    // Look-alike → ASCII, in pairs. Cyrillic lower and upper case, Greek lower and upper case, dotless i and script g.
    private const string LookAlikes =
        "аaвBеeһhіiјjкKмMнHоoрpсcѕsтTуyхxԁdԛqԝwӏlАAВBЕEЅSІlЈJКKМMНHОOРPСCТTУYХXӀl"
        + "αaβBγyεeιiκKνvοoρpτTυuχxΑAΒBΕEΖZΗHΙlΚKΜMΝNΟOΡPΤTΥYΧX"
        + "ıiɡgɑaɩiʟL";

    private static readonly Dictionary<char, char> Map = BuildMap();

    private static Dictionary<char, char> BuildMap()
    {
        var map = new Dictionary<char, char>(LookAlikes.Length / 2 + 4);
        for (int i = 0; i < LookAlikes.Length; i += 2) map[LookAlikes[i]] = LookAlikes[i + 1];
        map['1'] = 'l';
        map['I'] = 'l';
        map['|'] = 'l';
        map['0'] = 'O';
        return map;
    }

    /// <summary>True when every character of <paramref name="name"/> is printable ASCII (U+0020-U+007E).</summary>
    public static bool IsPrintableAscii(ReadOnlySpan<char> name) => !name.ContainsAnyExceptInRange(' ', '~');

    /// <summary>The skeleton described above.</summary>
    public static string Of(string name)
    {
        var sb = new StringBuilder(name.Length);
        foreach (Rune r in name.EnumerateRunes())
        {
            if (Rune.GetUnicodeCategory(r) == UnicodeCategory.Format || r.Value is 0x115f or 0x1160 or 0x3164 or 0xffa0) continue;
            if (r.Value is >= 0xff01 and <= 0xff5e) sb.Append(Skeletal((char)(r.Value - 0xff01 + '!')));
            else if (r.IsBmp) sb.Append(Skeletal((char)r.Value));
            else sb.Append(r.ToString());
        }
        return sb.ToString();
    }

    private static char Skeletal(char c) => Map.TryGetValue(c, out char ascii) ? ascii : c;

    /// <summary>
    /// Null for a name of ASCII only (U+0000-U+007F: its controls are <see cref="PrintableText"/>'s); otherwise what a reader should know, to print next to it:
    /// <c>not ASCII: U+0435 at 1; looks like 'deploy'</c> (at most 8 positions; the look-alike when the skeleton is ASCII).
    /// The caller prints it through <see cref="PrintableText"/> with the name.
    /// </summary>
    public static string? Flag(string? name)
    {
        if (name is null || !name.AsSpan().ContainsAnyExceptInRange('\0', '\u007f')) return null;
        var sb = new StringBuilder("not ASCII:");
        int shown = 0, total = 0;
        for (int i = 0; i < name.Length; i++)
        {
            char c = name[i];
            if (c <= '\u007f') continue;
            int scalar = char.IsHighSurrogate(c) && i + 1 < name.Length && char.IsLowSurrogate(name[i + 1]) ? char.ConvertToUtf32(c, name[i + 1]) : c;
            total++;
            if (shown++ < 8) sb.Append(shown == 1 ? " U+" : ", U+").Append(scalar.ToString("X4", CultureInfo.InvariantCulture)).Append(" at ").Append(i);
            if (scalar > 0xffff) i++;
        }
        if (total > 8) sb.Append(", and ").Append(total - 8).Append(" more");
        string skeleton = Of(name);
        if (skeleton.Length > 0 && IsPrintableAscii(skeleton)) sb.Append("; looks like '").Append(skeleton).Append('\'');
        return sb.ToString();
    }

    /// <summary>
    /// The names among <paramref name="names"/> that share a skeleton with another, in groups (each in the order given,
    /// groups by their first name). Empty when none do.
    /// </summary>
    public static List<List<string>> ConfusableGroups(IEnumerable<string> names)
    {
        var bySkeleton = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        var order = new List<List<string>>();
        foreach (string name in names)
        {
            string skeleton = Of(name);
            if (!bySkeleton.TryGetValue(skeleton, out List<string>? group))
            {
                bySkeleton[skeleton] = group = [];
                order.Add(group);
            }
            if (!group.Contains(name)) group.Add(name);
        }
        order.RemoveAll(g => g.Count < 2);
        return order;
    }
}
