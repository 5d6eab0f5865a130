using System.Globalization;

namespace FastMcp.Testing;

/// <summary>
/// A test of stdio.runAs with the user nobody (65534): it needs a gateway that can switch users (root with
/// CAP_SETUID, CAP_SETGID and CAP_KILL, as CI runs), the user nobody, and node for the server. Skipped elsewhere,
/// saying which is missing.
/// </summary>
public sealed class RunAsNobodyFactAttribute : FactAttribute
{
    public const uint Nobody = 65534;

    /// <param name="needsSetpriv">The test also starts the gateway itself as nobody, with setpriv (util-linux).</param>
    public RunAsNobodyFactAttribute(bool needsSetpriv = false)
    {
        if (!OperatingSystem.IsLinux()) { Skip = "stdio.runAs works on Linux only"; return; }
        string status = File.ReadAllText("/proc/self/status");
        if (Field(status, "Uid:") is not "0") Skip = "needs to run as root (as CI does) to start servers as another user";
        else if ((ulong.Parse(Field(status, "CapEff:") ?? "0", NumberStyles.HexNumber, CultureInfo.InvariantCulture) & 0xE0) != 0xE0)
            Skip = "needs CAP_SETUID, CAP_SETGID and CAP_KILL (this root has them dropped)";
        else if (!File.ReadAllLines("/etc/passwd").Any(l => l.StartsWith("nobody:x:65534:", StringComparison.Ordinal))) Skip = "needs the user nobody (uid 65534)";
        else if (!File.Exists("/usr/bin/node") && !File.Exists("/usr/local/bin/node")) Skip = "needs node for the stdio server";
        else if (needsSetpriv && !File.Exists("/usr/bin/setpriv")) Skip = "needs setpriv (util-linux) to start the gateway as nobody";
    }

    /// <summary>The first value of a /proc status line (for Uid: the real uid).</summary>
    private static string? Field(string status, string label)
    {
        foreach (string line in status.Split('\n'))
        {
            if (line.StartsWith(label, StringComparison.Ordinal)) return line[label.Length..].Split('\t', StringSplitOptions.RemoveEmptyEntries)[0].Trim();
        }
        return null;
    }
}
