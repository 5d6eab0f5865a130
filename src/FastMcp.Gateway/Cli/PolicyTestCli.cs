using FastMcp.Gateway.Configuration;

namespace FastMcp.Gateway.Cli;

/// <summary>
/// <c>fastmcp policy test --config FILE --claims FILE --request FILE [--expect ACTION]</c>: the configured policy and
/// claim mapping decide a sample call exactly as the gateway's policy stage does (resource URIs normalized or refused,
/// <see cref="FastMcp.Policy.McpCallDecision"/>).
/// </summary>
internal static class PolicyTestCli
{
    public const string Usage = "usage: fastmcp policy test --config FILE --claims FILE --request FILE [--upstream NAME] [--query QUERY] [--server-request] [--expect allow|deny|require_approval]";

    /// <summary>Runs the command; <see cref="UsageException"/> and <see cref="ConfigurationException"/> reach the caller.</summary>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        if (args.Length == 0 || args[0] != "test")
            throw new UsageException(args.Length == 0 ? Usage : $"unknown policy command '{args[0]}'; expected 'test'");
        string[] rest = args[1..];
        string? config = null;
        var forward = new List<string>();
        for (int i = 0; i < rest.Length; i++)
        {
            if (rest[i] == "--config" && i + 1 < rest.Length) config = rest[++i];
            else forward.Add(rest[i]);
        }
        GatewayOptions options = ConfigurationLoader.Load(config);
        if (config is null) Hosting.EmbeddedDefaults.Apply(options);
        if (options.Policy is null) throw new ConfigurationException("policy", "the configuration has no policy to test");
        // An upstream the gateway does not forward to would be decided as no call ever is.
        int at = forward.IndexOf("--upstream");
        if (at >= 0 && at + 1 < forward.Count && !RouteValidation.UpstreamNames(options).Contains(forward[at + 1]))
            throw new UsageException($"--upstream: no upstream named '{forward[at + 1]}' (the configuration has {string.Join(", ", RouteValidation.UpstreamNames(options))})");
        var mapping = options.Identity?.ClaimMapping ?? new FastMcp.Identity.ClaimMappingOptions();
        return FastMcp.Policy.PolicyTestCommand.Run(options.Policy, mapping, Hosting.GatewayStages.PolicySensitiveMembers(options.Masking, null),
            [.. forward], stdout, stderr);
    }
}
