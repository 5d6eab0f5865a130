using System.Globalization;

namespace FastMcp.Audit.Format;

/// <summary>File and object names: {chain}/{index:D12}.seg (sealed), .open (being written), checkpoint (latest).</summary>
public static class SegmentNames
{
    public const string SealedExtension = ".seg";
    public const string OpenExtension = ".open";
    public const string CheckpointName = "checkpoint";
    public const string LastSealName = "last-seal";

    public static string Sealed(long index) => index.ToString("D12", CultureInfo.InvariantCulture) + SealedExtension;
    public static string Open(long index) => index.ToString("D12", CultureInfo.InvariantCulture) + OpenExtension;

    /// <summary>Parses "000000000012.seg" or ".open" into its index.</summary>
    public static bool TryParse(string fileName, out long index, out bool sealed_)
    {
        index = 0;
        sealed_ = fileName.EndsWith(SealedExtension, StringComparison.Ordinal);
        bool open = fileName.EndsWith(OpenExtension, StringComparison.Ordinal);
        if (!sealed_ && !open) return false;
        var stem = fileName.AsSpan(0, fileName.Length - (sealed_ ? SealedExtension.Length : OpenExtension.Length));
        if (stem.Length != 12) return false;
        foreach (char c in stem) if (!char.IsAsciiDigit(c)) return false;
        return long.TryParse(stem, NumberStyles.None, CultureInfo.InvariantCulture, out index) && index > 0;
    }
}
