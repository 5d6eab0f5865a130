using System.Globalization;
using System.Runtime.InteropServices;

namespace FastMcp.Gateway.Upstream.Stdio;

/// <summary>
/// Whether the gateway can start a stdio server as another user (stdio.runAs): the helper it runs for that
/// (`fastmcp stdio-exec`) needs CAP_SETUID and CAP_SETGID to switch, and the gateway needs CAP_KILL to stop a server
/// that no longer shares its uid. Root has them unless the bounding set took them away; any other user only through
/// ambient capabilities, the only ones that survive the exec of the helper.
/// </summary>
internal static partial class CredentialSwitch
{
    private const int CapKill = 5, CapSetGid = 6, CapSetUid = 7;

    public static uint GatewayUid => GetEUid();

    public static uint GatewayGid => GetEGid();

    /// <summary>Null when the gateway can switch; else why not (for a start-up refusal).</summary>
    public static string? WhyNot() => OperatingSystem.IsLinux()
        ? WhyNot(GetEUid(), File.ReadAllText("/proc/self/status"))
        : "stdio.runAs works on Linux only";

    /// <summary>The same decision from a uid and the text of /proc/self/status (its CapEff, CapBnd and CapAmb lines).</summary>
    internal static string? WhyNot(uint euid, string status)
    {
        if (euid == 0)
        {
            string? missing = Missing(Capabilities(status, "CapEff:") & Capabilities(status, "CapBnd:"));
            return missing is null ? null
                : $"the gateway runs as root without {missing} (the container or service dropped them): add them back, or drop runAs";
        }
        string? notAmbient = Missing(Capabilities(status, "CapAmb:"));
        return notAmbient is null ? null
            : $"the gateway runs as uid {euid} without {notAmbient} in its ambient capabilities (needed to switch users and to stop the server): " +
              "run it as root, or grant CAP_SETUID, CAP_SETGID and CAP_KILL as ambient capabilities";
    }

    private static string? Missing(ulong held)
    {
        var missing = new List<string>(3);
        if ((held & (1UL << CapSetUid)) == 0) missing.Add("CAP_SETUID");
        if ((held & (1UL << CapSetGid)) == 0) missing.Add("CAP_SETGID");
        if ((held & (1UL << CapKill)) == 0) missing.Add("CAP_KILL");
        return missing.Count == 0 ? null : string.Join(", ", missing);
    }

    private static ulong Capabilities(string status, string label)
    {
        foreach (string line in status.Split('\n'))
        {
            if (line.StartsWith(label, StringComparison.Ordinal)
                && ulong.TryParse(line.AsSpan(label.Length).Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out ulong bits))
                return bits;
        }
        return 0;
    }

    [LibraryImport("libc", EntryPoint = "geteuid")]
    private static partial uint GetEUid();

    [LibraryImport("libc", EntryPoint = "getegid")]
    private static partial uint GetEGid();
}
