using System.Diagnostics;
using FastMcp.Gateway.Cli;
using FastMcp.Gateway.Configuration;

namespace FastMcp.Gateway.Upstream.Stdio;

/// <summary>
/// The start of a stdio server with a runAs: the gateway runs itself as `fastmcp stdio-exec`, which sets the limits,
/// switches to the user and group and becomes the server (same pid, so signals, limits and waiting work as for any
/// server). The program is found on the gateway's PATH first, and the working directory is checked for the user, so
/// either problem is a clear refusal of the session rather than a server that exits at once.
/// </summary>
internal static class RunAsStart
{
    public static ProcessStartInfo Create(StdioUpstreamOptions options, StdioRunAsOptions runAs)
    {
        string program = Find(options.Command);
        if (options.WorkingDirectory.Length > 0 && RunAsFileAccess.BlockedOnTheWay(options.WorkingDirectory, runAs.Uid, runAs.Gid) is { } blocked)
            throw new InvalidOperationException($"workingDirectory '{options.WorkingDirectory}' is not usable by runAs {runAs.Describe()}: {blocked}");
        (string self, string[] prefix) = GatewayExecutable.Command();
        var start = new ProcessStartInfo(self);
        foreach (string p in prefix) start.ArgumentList.Add(p);
        foreach (string a in StdioExecCommand.Arguments(runAs, options.WorkingDirectory, options.Limits, program, options.Args)) start.ArgumentList.Add(a);
        return start;
    }

    /// <summary>A path as it is (made absolute); a bare name, the first executable of that name on the gateway's PATH.</summary>
    private static string Find(string command)
    {
        if (command.Contains('/')) return Path.GetFullPath(command);
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(dir, command);
            if (!OperatingSystem.IsWindows() && File.Exists(candidate) && (File.GetUnixFileMode(candidate) & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0)
                return candidate;
        }
        throw new InvalidOperationException($"'{command}' is not an executable file on the gateway's PATH");
    }
}
