using System.Globalization;

namespace FastMcp.Policy;

/// <summary>A compiled "time" condition (see <see cref="TimeConditionOptions"/>). Evaluating it allocates nothing.</summary>
internal sealed class TimeCondition
{
    private readonly long _notBeforeTicks, _notAfterTicks;   // UTC ticks; 0 / long.MaxValue: unbounded
    private readonly TimeZoneInfo? _zone;                     // null: no weekly window
    private readonly int _dayMask;                            // bit per DayOfWeek; all set: every day
    private readonly long _fromTicks, _toTicks;               // time of day; equal (0, 0): the whole day

    private TimeCondition(long notBefore, long notAfter, TimeZoneInfo? zone, int dayMask, long from, long to)
    {
        (_notBeforeTicks, _notAfterTicks, _zone, _dayMask, _fromTicks, _toTicks) = (notBefore, notAfter, zone, dayMask, from, to);
    }

    private static readonly string[] DayNames = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

    public static TimeCondition Compile(TimeConditionOptions o, string rule)
    {
        long notBefore = o.NotBefore is null ? 0 : Instant(o.NotBefore, rule, "time.notBefore");
        long notAfter = o.NotAfter is null ? long.MaxValue : Instant(o.NotAfter, rule, "time.notAfter");
        if (notBefore >= notAfter)
            throw new PolicyException(rule, "time.notAfter", "must be later than time.notBefore");
        bool weekly = o.Days is { Count: > 0 } || o.From is not null || o.To is not null;
        if (!weekly && o.TimeZone is not null)
            throw new PolicyException(rule, "time.timeZone", "applies only to a weekly window (days, from, to)");
        if (!weekly && o.NotBefore is null && o.NotAfter is null)
            throw new PolicyException(rule, "time", "sets nothing: give days, from and to, notBefore or notAfter");
        if (!weekly)
            return new TimeCondition(notBefore, notAfter, null, 0x7F, 0, 0);

        if (string.IsNullOrWhiteSpace(o.TimeZone))
            throw new PolicyException(rule, "time.timeZone", "required with days, from or to (an IANA zone such as \"Europe/Berlin\", or \"UTC\")");
        TimeZoneInfo zone;
        try
        {
            zone = TimeZoneInfo.FindSystemTimeZoneById(o.TimeZone);
        }
        catch (Exception e) when (e is TimeZoneNotFoundException or InvalidTimeZoneException)
        {
            throw new PolicyException(rule, "time.timeZone", $"'{o.TimeZone}' is not a time zone of this system's tz database");
        }
        int mask = 0;
        if (o.Days is { Count: > 0 } days)
        {
            for (int i = 0; i < days.Count; i++)
            {
                int day = Array.IndexOf(DayNames, days[i]);
                if (day < 0)
                    throw new PolicyException(rule, $"time.days[{i}]", $"'{days[i]}' is not one of mon, tue, wed, thu, fri, sat, sun");
                mask |= 1 << day;
            }
        }
        else
        {
            mask = 0x7F;
        }
        if ((o.From is null) != (o.To is null))
            throw new PolicyException(rule, o.From is null ? "time.from" : "time.to", "from and to are set together");
        long from = 0, to = 0;
        if (o.From is not null)
        {
            from = TimeOfDay(o.From, rule, "time.from", allowEndOfDay: false);
            to = TimeOfDay(o.To!, rule, "time.to", allowEndOfDay: true);
            if (from == to)
                throw new PolicyException(rule, "time.to", "equals time.from: leave both out for the whole day");
        }
        return new TimeCondition(notBefore, notAfter, zone, mask, from, to);
    }

    /// <summary>Holds at <paramref name="utc"/> (a UTC instant).</summary>
    public bool Matches(DateTime utc)
    {
        long ticks = utc.Ticks;
        if (ticks < _notBeforeTicks || ticks >= _notAfterTicks)
            return false;
        if (_zone is null)
            return true;
        // The wall clock of the zone: across a DST change the window follows local time (see docs/policy.md).
        DateTime local = TimeZoneInfo.ConvertTimeFromUtc(utc, _zone);
        long time = local.TimeOfDay.Ticks;
        int day = (int)local.DayOfWeek;
        if (_fromTicks == _toTicks)
            return (_dayMask & (1 << day)) != 0;
        if (_fromTicks < _toTicks)
            return time >= _fromTicks && time < _toTicks && (_dayMask & (1 << day)) != 0;
        // Wraps past midnight: the part after midnight belongs to the window that opened the day before.
        if (time >= _fromTicks)
            return (_dayMask & (1 << day)) != 0;
        if (time < _toTicks)
            return (_dayMask & (1 << ((day + 6) % 7))) != 0;
        return false;
    }

    private static long Instant(string text, string rule, string field) => TryParseInstant(text, out DateTimeOffset instant)
        ? instant.UtcTicks
        : throw new PolicyException(rule, field, $"'{text}' is not an ISO 8601 instant with a zone, such as \"2026-12-20T00:00:00Z\" or \"2026-12-20T00:00:00+01:00\"");

    /// <summary>Reads an ISO 8601 date and time with a zone ('Z' or ±hh:mm).</summary>
    public static bool TryParseInstant(string text, out DateTimeOffset instant)
    {
        string s = text.Trim();
        instant = default;
        // An instant without a zone would be read in the gateway host's zone: refused rather than guessed.
        bool zoned = s.EndsWith('Z') || s.EndsWith('z') || (s.Length > 6 && s[^6] is '+' or '-' && s[^3] == ':');
        return zoned && s.Length > 10 && s[10] is 'T' or 't'
            && DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.None, out instant);
    }

    private static long TimeOfDay(string text, string rule, string field, bool allowEndOfDay)
    {
        if (text.Length != 5 || text[2] != ':' || !int.TryParse(text.AsSpan(0, 2), NumberStyles.None, CultureInfo.InvariantCulture, out int h)
            || !int.TryParse(text.AsSpan(3, 2), NumberStyles.None, CultureInfo.InvariantCulture, out int m) || h > 24 || m > 59 || (h == 24 && (m != 0 || !allowEndOfDay)))
            throw new PolicyException(rule, field, allowEndOfDay ? $"'{text}' is not a time of day \"HH:mm\" (00:00 to 24:00)" : $"'{text}' is not a time of day \"HH:mm\" (00:00 to 23:59)");
        return new TimeSpan(h, m, 0).Ticks;
    }
}
