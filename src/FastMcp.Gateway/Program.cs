using FastMcp.Gateway.Cli;
using FastMcp.Gateway.Configuration;

namespace FastMcp.Gateway;

internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        // S3 shipping, anchors and `fastmcp verify s3://…` (fastmcp-verify is built without it).
        FastMcp.Audit.S3.S3Stores.Register();
        try
        {
            if (CommandHelp.TryAnswer(args, Console.Out) is { } helpExit) return helpExit;
            string[] rest = args[1..];
            return args[0] switch
            {
                "serve" => await ServeCommand.RunAsync(rest).ConfigureAwait(false),
                "token" => FastMcp.Identity.TokenCommand.Run(rest, Console.Out, Console.Error),
                "config" => ConfigCheckCommand.Run(rest, Console.Out, Console.Error),
                "policy" => PolicyTest(rest),
                "mask" => FastMcp.Pan.MaskCommand.Run(rest, Console.OpenStandardInput(), Console.OpenStandardOutput(), Console.Error),
                "approvals" => await ApprovalsCommand.RunAsync(rest, Console.Out, Console.Error).ConfigureAwait(false),
                "keys" => FastMcp.Audit.KeysCommand.Run(rest, Console.Out, Console.Error),
                "verify" => await FastMcp.Audit.VerifyCommand.RunAsync(rest, Console.Out, Console.Error).ConfigureAwait(false),
                "replay" => await FastMcp.Audit.ReplayCommand.RunAsync(rest, Console.Out, Console.Error).ConfigureAwait(false),
                "version" or "--version" => PrintVersion(),
                _ => throw CommandHelp.Unknown(args[0]),
            };
        }
        catch (UsageException e)
        {
            Console.Error.WriteLine($"fastmcp: {e.Message}");
            Console.Error.WriteLine("run 'fastmcp help' for usage");
            return 2;
        }
        catch (ConfigurationException e)
        {
            Console.Error.WriteLine($"fastmcp: {e.Message}");
            return 2;
        }
        catch (System.Net.Sockets.SocketException e)
        {
            Console.Error.WriteLine($"fastmcp: cannot listen: {e.Message}");
            return 1;
        }
    }

    /// <summary>`fastmcp policy test --config FILE --claims FILE --request FILE`.</summary>
    private static int PolicyTest(string[] args)
    {
        if (args.Length == 0 || args[0] != "test")
            throw new UsageException(args.Length == 0 ? "usage: fastmcp policy test --config FILE --claims FILE --request FILE" : $"unknown policy command '{args[0]}'; expected 'test'");
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
        var mapping = options.Identity?.ClaimMapping ?? new FastMcp.Identity.ClaimMappingOptions();
        return FastMcp.Policy.PolicyTestCommand.Run(options.Policy, mapping, [.. forward], Console.Out, Console.Error);
    }

    private static int PrintVersion()
    {
        Console.Out.WriteLine($"fastmcp {typeof(Program).Assembly.GetName().Version}");
        return 0;
    }
}
