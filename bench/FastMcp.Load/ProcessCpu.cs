using System.Globalization;
using System.Runtime.InteropServices;

namespace FastMcp.Load;

/// <summary>CPU time a process has used so far (user + system), read from /proc/PID/stat.</summary>
internal static partial class ProcessCpu
{
    private const int ScClockTicks = 2; // _SC_CLK_TCK on Linux

    private static readonly long TicksPerSecond = ReadTicksPerSecond();

    /// <summary>Seconds of CPU the process used, or null when it cannot be read (gone, not Linux).</summary>
    public static double? TryReadSeconds(int pid)
    {
        string stat;
        try
        {
            stat = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }

        // The command name (field 2) is parenthesised and may hold spaces: count fields after the last ')'.
        var afterName = stat.AsSpan(stat.LastIndexOf(')') + 1).Trim();
        Span<Range> fields = stackalloc Range[16];
        var count = afterName.Split(fields, ' ', StringSplitOptions.RemoveEmptyEntries);
        // Fields after the name start at field 3 (state): utime is field 14, stime field 15.
        if (count < 14
            || !long.TryParse(afterName[fields[11]], CultureInfo.InvariantCulture, out var utime)
            || !long.TryParse(afterName[fields[12]], CultureInfo.InvariantCulture, out var stime))
        {
            return null;
        }

        return (utime + stime) / (double)TicksPerSecond;
    }

    private static long ReadTicksPerSecond()
    {
        try
        {
            var ticks = Sysconf(ScClockTicks);
            return ticks > 0 ? ticks : 100;
        }
        catch (DllNotFoundException)
        {
            return 100;
        }
        catch (EntryPointNotFoundException)
        {
            return 100;
        }
    }

    [LibraryImport("libc", EntryPoint = "sysconf")]
    private static partial long Sysconf(int name);
}
