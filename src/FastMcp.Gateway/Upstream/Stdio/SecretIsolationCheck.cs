using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Hosting;

namespace FastMcp.Gateway.Upstream.Stdio;

/// <summary>
/// At start, for each stdio upstream with a runAs: which of the gateway's own files (GatewaySecretFiles) its user could
/// read or change, by owners and mode bits (RunAsFileAccess). Each is a warning naming the field, never the content,
/// and counted (fastmcp_stdio_run_as_exposed_files); with runAs.requireSecretIsolation the gateway refuses to start.
/// A warning by default because the mode bits are an approximation (ACLs and LSMs are not read) and a deployment may
/// isolate by other means (another mount namespace); strict for those whose isolation is the user alone.
/// </summary>
internal static class SecretIsolationCheck
{
    /// <summary>What the user of <paramref name="runAs"/> could do with each file it should not reach: "read", "write" or "read and write".</summary>
    public static List<(string Field, string Exposure)> Exposures(IReadOnlyList<GatewaySecretFile> files, StdioRunAsOptions runAs)
    {
        var exposed = new List<(string, string)>();
        foreach (GatewaySecretFile f in files)
        {
            bool read = f.Use == SecretFileUse.Secret && ReadableBy(f.Path, runAs);
            bool write = RunAsFileAccess.CanWrite(f.Path, runAs.Uid, runAs.Gid);
            if (read || write) exposed.Add((f.Field, read && write ? "read and write" : read ? "read" : "write"));
        }
        return exposed;
    }

    /// <summary>A file, or any file in a folder (a dev key folder).</summary>
    private static bool ReadableBy(string path, StdioRunAsOptions runAs)
    {
        if (!Directory.Exists(path)) return RunAsFileAccess.CanRead(path, runAs.Uid, runAs.Gid);
        foreach (string file in Directory.EnumerateFiles(path))
        {
            if (RunAsFileAccess.CanRead(file, runAs.Uid, runAs.Gid)) return true;
        }
        return false;
    }

    /// <summary>Logs each exposure of the upstream at <paramref name="field"/> and returns how many; throws when strict.</summary>
    public static int Run(string field, StdioUpstreamOptions stdio, IReadOnlyList<GatewaySecretFile> files)
    {
        if (stdio.RunAs is not { } runAs) return 0;
        List<(string Field, string Exposure)> exposed = Exposures(files, runAs);
        foreach ((string secret, string exposure) in exposed)
            Log.Warn($"{field}.runAs: the server's user ({runAs.Describe()}) could {exposure} {secret} (by its owner and mode bits): make it owner-only");
        if (exposed.Count > 0 && runAs.RequireSecretIsolation)
        {
            throw new ConfigurationException($"{field}.runAs.requireSecretIsolation",
                $"the server's user ({runAs.Describe()}) could {exposed[0].Exposure} {exposed[0].Field}" +
                (exposed.Count > 1 ? $" (and {exposed.Count - 1} more, logged)" : "") + ": make it owner-only, or drop the requirement");
        }
        return exposed.Count;
    }
}
