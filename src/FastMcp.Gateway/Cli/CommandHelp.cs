namespace FastMcp.Gateway.Cli;

/// <summary>
/// The one-page `fastmcp --help`, each command's own help, and "did you mean" for a mistyped command.
/// Commands whose parser answers -h/--help itself (token, policy, mask, approvals, tools, verify, replay) are
/// still listed so `fastmcp help COMMAND` works for every one.
/// </summary>
internal static class CommandHelp
{
    public const string Overview = """
        fastmcp — identity-aware MCP security gateway

        usage: fastmcp <command> [options]      fastmcp <command> --help   for a command's options

        commands:
          serve          run the gateway (embedded defaults when no --config is given)
          token          mint a dev-mode token (fastmcp token --sub alice --groups sre)
          config check   validate a configuration file as serve would, without serving: --config FILE
          policy test    show the decision for a request: --config FILE --claims FILE --request FILE
          mask           mask card numbers from stdin to stdout [--keep-first 0|6|8] [--report]
          approvals      list, show, approve or deny held calls
          tools pin      write a tool pins file from what the gateway observed: --out FILE [--admin URL] [--token-file FILE]
          tools diff     what changed since the pins were written (exit 1 on drift): --pins FILE [--definitions FILE] [--format json]
          keys generate  make an audit signing key pair: --private FILE --public FILE
          verify         verify audit segments (fastmcp-verify, plus s3:// locations)
          replay         reconstruct a timeline from audit segments
          version        print the version
          help           print this text (help COMMAND: that command's options)

        """;

    /// <summary>The commands Program dispatches, in the order the overview lists them.</summary>
    public static readonly string[] Commands = ["serve", "token", "config", "policy", "mask", "approvals", "tools", "keys", "verify", "replay", "version", "help"];

    /// <summary>The help text of a command, or null for one that has none of its own here.</summary>
    public static string? For(string command) => command switch
    {
        "serve" => ServeCommand.Usage,
        "config" => ConfigCheckCommand.Help,
        "keys" => "usage: fastmcp keys generate --private PRIVATE.pem --public PUBLIC.pem\n\n"
            + "  --private FILE  where to write the private signing key (mode 0600; keep it outside the audit folder)\n"
            + "  --public FILE   where to write the public key auditors verify with\n",
        "token" => FastMcp.Identity.TokenCommand.Usage,
        "policy" => FastMcp.Policy.PolicyTestCommand.Usage,
        "approvals" => ApprovalsCommand.Usage,
        "tools" => ToolsCommand.Usage,
        "verify" => FastMcp.Audit.VerifyCommand.Usage,
        "replay" => FastMcp.Audit.ReplayCommand.Usage,
        "mask" => "usage: fastmcp mask [--keep-first 0|6|8] [--report] [--key-file PATH | --no-fingerprint] < in > out\n"
            + "  a line it cannot fully mask (over 4 MiB, or JSON nested past 1,024 levels) is replaced by a marker line naming it; exit code 3\n",
        "version" => "usage: fastmcp version\n",
        "help" => Overview,
        _ => null,
    };

    /// <summary>
    /// Answers `fastmcp help [COMMAND]`, `fastmcp --help` and `fastmcp COMMAND ... --help` for commands whose own
    /// parser would refuse the flag (serve, config, keys, version). Returns the exit code, or null when this is not a help request.
    /// </summary>
    public static int? TryAnswer(string[] args, TextWriter stdout)
    {
        if (args.Length == 0) { stdout.Write(Overview); return 2; }
        string first = args[0];
        if (first is "help" or "--help" or "-h")
        {
            if (args.Length > 1 && For(args[1]) is { } text && args[1] != "help") { stdout.Write(Text(text)); return 0; }
            if (args.Length > 1 && args[1] != "help") throw Unknown(args[1]);
            stdout.Write(Overview);
            return 0;
        }
        if (first is "serve" or "config" or "keys" or "version" && CommandLine.WantsHelp(args.AsSpan(1)))
        {
            stdout.Write(Text(For(first)!));
            return 0;
        }
        return null;
    }

    /// <summary>The refusal of an unknown command, naming the closest known one.</summary>
    public static UsageException Unknown(string command)
    {
        string? guess = Suggestion.Closest(command, Commands);
        return new UsageException(guess is null ? $"unknown command '{command}'" : $"unknown command '{command}'; did you mean '{guess}'?");
    }

    private static string Text(string usage) => usage.EndsWith('\n') ? usage : usage + "\n";
}
