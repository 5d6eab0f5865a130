using System.Globalization;

namespace FastMcp.Audit.Format;

/// <summary>Canonical text forms of note values; parsing rejects anything not in canonical form so a note has exactly one encoding.</summary>
public static class NoteValues
{
    public const string TimeFormat = "yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'";
    public static readonly string ZeroHash = new('0', 64);

    public static string Time(long unixMicros) =>
        DateTime.UnixEpoch.AddTicks(unixMicros * 10).ToString(TimeFormat, CultureInfo.InvariantCulture);

    /// <summary>Length of a time in <see cref="TimeFormat"/>: 2026-01-02T03:04:05.123456Z.</summary>
    public const int TimeLength = 27;

    /// <summary>
    /// Writes <paramref name="unixMicros"/> in <see cref="TimeFormat"/> as UTF-8 (the same text as <see cref="Time"/>)
    /// and returns <see cref="TimeLength"/>: every record carries one, so it is written without the culture-aware
    /// formatter and its UTF-16 round trip.
    /// </summary>
    public static int FormatTime(long unixMicros, Span<byte> utf8)
    {
        DateTime t = DateTime.UnixEpoch.AddTicks(unixMicros * 10);
        t.Deconstruct(out int year, out int month, out int day);
        long ofDay = t.Ticks % TimeSpan.TicksPerDay;
        int seconds = (int)(ofDay / TimeSpan.TicksPerSecond);
        int micros = (int)(ofDay % TimeSpan.TicksPerSecond / 10);
        Span<byte> s = utf8[..TimeLength];
        Digits(s, 0, year, 4);
        s[4] = (byte)'-';
        Digits(s, 5, month, 2);
        s[7] = (byte)'-';
        Digits(s, 8, day, 2);
        s[10] = (byte)'T';
        Digits(s, 11, seconds / 3600, 2);
        s[13] = (byte)':';
        Digits(s, 14, seconds / 60 % 60, 2);
        s[16] = (byte)':';
        Digits(s, 17, seconds % 60, 2);
        s[19] = (byte)'.';
        Digits(s, 20, micros, 6);
        s[26] = (byte)'Z';
        return TimeLength;
    }

    private static void Digits(Span<byte> s, int at, int value, int count)
    {
        for (int i = at + count - 1; i >= at; i--)
        {
            s[i] = (byte)('0' + value % 10);
            value /= 10;
        }
    }

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
