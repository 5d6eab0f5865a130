using System.Globalization;

namespace FastMcp.Audit.Anchoring;

/// <summary>Object names of published checkpoints: {chain}/checkpoints/{sequence:D20}.checkpoint, so names sort by sequence.</summary>
public static class AnchorNames
{
    public const string Folder = "checkpoints";
    public const string Extension = ".checkpoint";

    public static string FolderOf(string chain) => chain + "/" + Folder + "/";

    public static string Key(string chain, long sequence) => FolderOf(chain) + sequence.ToString("D20", CultureInfo.InvariantCulture) + Extension;

    /// <summary>Parses the file name part ("00000000000000000042.checkpoint").</summary>
    public static bool TryParse(string name, out long sequence)
    {
        sequence = 0;
        if (!name.EndsWith(Extension, StringComparison.Ordinal)) return false;
        var stem = name.AsSpan(0, name.Length - Extension.Length);
        if (stem.Length != 20) return false;
        foreach (char c in stem) if (!char.IsAsciiDigit(c)) return false;
        return long.TryParse(stem, NumberStyles.None, CultureInfo.InvariantCulture, out sequence);
    }
}
