using System.Text.Json;
using System.Text.RegularExpressions;

namespace FastMcp.Interop.Tests.Harness;

/// <summary>One run of the official MCP conformance suite's server scenarios (the default "active" suite) against a URL.</summary>
internal sealed partial class ConformanceSuite
{
    private static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(5);

    private ConformanceSuite(SortedSet<string> passed, SortedSet<string> failed, string transcript)
    {
        Passed = passed;
        Failed = failed;
        Transcript = transcript;
    }

    /// <summary>Scenarios whose checks all succeeded (the suite's ✓ summary lines).</summary>
    public SortedSet<string> Passed { get; }

    /// <summary>Scenarios with at least one failed or warning check (✗).</summary>
    public SortedSet<string> Failed { get; }

    public string Transcript { get; }

    [GeneratedRegex(@"^(?<mark>[✓✗]) (?<scenario>[a-z0-9-]+):", RegexOptions.Multiline)]
    private static partial Regex ScenarioLine();

    public static async Task<ConformanceSuite> RunAsync(Uri url)
    {
        if (!File.Exists(RepoPaths.Node22Executable) || !File.Exists(RepoPaths.ConformanceSuiteEntry))
        {
            throw new InvalidOperationException(
                $"{RepoPaths.Node22Executable} or {RepoPaths.ConformanceSuiteEntry} is missing: run `npm ci` in {RepoPaths.NodeDirectory}");
        }
        using var process = ChildProcess.Start(
            RepoPaths.Node22Executable, [RepoPaths.ConformanceSuiteEntry, "server", "--url", url.ToString()], workingDirectory: RepoPaths.NodeDirectory);
        await process.WaitForExitAsync(RunTimeout);
        var passed = new SortedSet<string>(StringComparer.Ordinal);
        var failed = new SortedSet<string>(StringComparer.Ordinal);
        foreach (Match m in ScenarioLine().Matches(process.StandardOutput))
        {
            (m.Groups["mark"].Value == "✓" ? passed : failed).Add(m.Groups["scenario"].Value);
        }
        // A scenario reported twice (the suite prints dns-rebinding-protection's line twice) counts once; one that
        // both passed and failed did not pass.
        passed.ExceptWith(failed);
        return new ConformanceSuite(passed, failed, process.Transcript);
    }

    /// <summary>
    /// Runs one scenario (any, also those outside the active set) and returns each check's status by check id
    /// (SUCCESS, FAILURE, WARNING, INFO; the last one reported for an id), with the suite's transcript.
    /// </summary>
    public static async Task<(Dictionary<string, string> Checks, string Transcript)> RunScenarioAsync(Uri url, string scenario)
    {
        DirectoryInfo results = Directory.CreateTempSubdirectory("fastmcp-conformance-");
        try
        {
            using var process = ChildProcess.Start(
                RepoPaths.Node22Executable,
                [RepoPaths.ConformanceSuiteEntry, "server", "--url", url.ToString(), "--scenario", scenario, "-o", results.FullName],
                workingDirectory: RepoPaths.NodeDirectory);
            await process.WaitForExitAsync(RunTimeout);
            var checks = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (string file in Directory.EnumerateFiles(results.FullName, "checks.json", SearchOption.AllDirectories))
            {
                using JsonDocument document = JsonDocument.Parse(await File.ReadAllTextAsync(file));
                foreach (JsonElement check in document.RootElement.EnumerateArray())
                {
                    checks[check.GetProperty("id").GetString()!] = check.GetProperty("status").GetString()!;
                }
            }
            return (checks, process.Transcript);
        }
        finally
        {
            results.Delete(recursive: true);
        }
    }
}
