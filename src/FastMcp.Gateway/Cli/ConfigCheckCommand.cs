using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Hosting;
using FastMcp.Text;

namespace FastMcp.Gateway.Cli;

/// <summary>
/// `fastmcp config check --config FILE`: loads and validates the file as `serve` does at start
/// (parse, field validation, identity against the listeners, policy compilation, masking key,
/// audit settings and signing key, upstream credential, webhook secret) without binding a socket,
/// fetching issuer keys or writing a file. Exit 0 when serve would accept it, 2 otherwise.
/// </summary>
internal static class ConfigCheckCommand
{
    public const string Usage = "usage: fastmcp config check --config FILE";

    public const string Help = Usage + "\n\n"
        + "  --config FILE  the JSON configuration to check (docs/configuration.md)\n"
        + "exit 0: serve would accept it; 2: it would not (the field and the problem are printed)\n";

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        if (args.Length == 0) throw new UsageException(Usage);
        if (args[0] != "check")
        {
            string? guess = Suggestion.Closest(args[0], ["check"]);
            throw new UsageException($"unknown config command '{args[0]}'{(guess is null ? "" : $"; did you mean '{guess}'?")}\n{Usage}");
        }
        CommandLine cl = CommandLine.Parse(args.AsSpan(1), ["--config"], []);
        string path = cl.Get("--config") ?? throw new UsageException(Usage);
        try
        {
            GatewayOptions options = ConfigurationLoader.Load(path);
            var listeners = options.Listen.ConvertAll(l => ListenAddress.Parse(l, "listen"));
            GatewayStages.Check(options, listeners);
        }
        catch (ConfigurationException e)
        {
            // The message names the field and the problem; no check puts a secret value in it.
            stderr.WriteLine(PrintableText.Escape($"fastmcp: {e.Message}"));
            return 2;
        }
        stdout.WriteLine(PrintableText.Escape($"configuration OK: {path}"));
        return 0;
    }
}
