namespace FastMcp.Interop.Tests.Harness;

/// <summary>A gateway started from a configuration file (identities, policy, approvals), not the anonymous defaults.</summary>
internal sealed partial class GatewayProcess
{
    /// <summary>The gateway's private working directory: relative paths in its configuration resolve here.</summary>
    public string WorkDirectory => _workDirectory;

    /// <summary>
    /// Writes <paramref name="configJson"/> to config.json in a fresh working directory (or
    /// <paramref name="workDirectory"/>, to restart on the same state) and runs `fastmcp serve --config`.
    /// The configuration must listen and admin-listen on 127.0.0.1:0. <paramref name="environment"/>: variables added to
    /// the gateway's environment.
    /// </summary>
    public static async Task<GatewayProcess> StartWithConfigAsync(string configJson, string? workDirectory = null, IReadOnlyDictionary<string, string>? environment = null)
    {
        var (file, prefix, _) = Locate();
        bool fresh = workDirectory is null;
        workDirectory ??= Directory.CreateTempSubdirectory("fastmcp-interop-").FullName;
        string configPath = Path.Combine(workDirectory, "config.json");
        await File.WriteAllTextAsync(configPath, configJson);
        var process = ChildProcess.Start(file, [.. prefix, "serve", "--config", configPath], environment, workDirectory);
        try
        {
            var listening = await process.WaitForStdoutLineAsync(ListeningLine(), StartTimeout);
            var admin = await process.WaitForStdoutLineAsync(AdminLine(), StartTimeout);
            return new GatewayProcess(process, workDirectory, new Uri(listening.Groups[1].Value), new Uri(admin.Groups[1].Value));
        }
        catch
        {
            process.Dispose();
            if (fresh) TryDeleteDirectory(workDirectory);
            throw;
        }
    }

    /// <summary>Runs the gateway binary with other arguments (fastmcp token, approvals, replay) and returns (exit code, stdout, stderr).</summary>
    public static async Task<(int ExitCode, string StandardOutput, string StandardError)> RunToolAsync(string workDirectory, IReadOnlyDictionary<string, string>? environment, params string[] arguments)
    {
        var (file, prefix, _) = Locate();
        using var process = ChildProcess.Start(file, [.. prefix, .. arguments], environment, workDirectory);
        int exit = await process.WaitForExitAsync(TimeSpan.FromSeconds(60));
        return (exit, process.StandardOutput, process.StandardError);
    }

    /// <summary>Keeps the working directory (for a restart on the same state): disposes only the process.</summary>
    public void StopProcessOnly() => _process.Dispose();
}
