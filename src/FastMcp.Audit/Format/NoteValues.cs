using System.Globalization;

namespace FastMcp.Audit.Format;

/// <summary>Canonical text forms of note values; parsing rejects anything not in canonical form so a note has exactly one encoding.</summary>
public static class NoteValues
{
    public const string TimeFormat = "yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'";
    public static readonly string ZeroHash = new('0', 64);

    public static string Time(long unixMicros) =>
        DateTime.UnixEpoch.AddTicks(unixMicros * 10).ToString(TimeFormat, CultureInfo.InvariantCulture);

    public static long ToUnixMicros(DateTime utc) => (utc.Ticks - DateTime.UnixEpoch.Ticks) / 10;

    public static string Hash(ReadOnlySpan<byte> hash) => Convert.ToHexStringLower(hash);

    public static bool TryTime(string s, out long unixMicros)
    {
        unixMicros = 0;
        if (!DateTime.TryParseExact(s, TimeFormat, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var t)) return false;
        unixMicros = ToUnixMicros(t);
        return Time(unixMicros) == s;
    }

    public static bool TryLong(string s, out long value) =>
        long.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out value) && value.ToString(CultureInfo.InvariantCulture) == s;

    public static bool TryHash(string s, out byte[] hash)
    {
        hash = [];
        if (s.Length != 64) return false;
        foreach (char c in s) if (!(char.IsAsciiDigit(c) || c is >= 'a' and <= 'f')) return false;
        hash = Convert.FromHexString(s);
        return true;
    }
}
