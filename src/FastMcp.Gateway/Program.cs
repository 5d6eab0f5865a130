using FastMcp.Gateway.Cli;
using FastMcp.Gateway.Configuration;

namespace FastMcp.Gateway;

internal static class Program
{
    private const string Usage = """
        fastmcp — identity-aware MCP security gateway

        usage: fastmcp <command> [options]

        commands:
          serve          run the gateway (embedded defaults when no --config is given)
          token          mint a dev-mode token (fastmcp token --sub alice --groups sre)
          config check   validate a configuration file as serve would, without serving: --config FILE
          policy test    show the decision for a request: --config FILE --claims FILE --request FILE
          mask           mask card numbers from stdin to stdout [--keep-first 0|6|8] [--report]
          approvals      list, show, approve or deny held calls (fastmcp approvals --help)
          keys generate  make an audit signing key pair
          verify         verify audit segments (fastmcp-verify, plus s3:// locations)
          replay         reconstruct a timeline from audit segments
          version        print the version
          help           print this text

        """;

    public static async Task<int> Main(string[] args)
    {
        // S3 shipping, anchors and `fastmcp verify s3://…` (fastmcp-verify is built without it).
        FastMcp.Audit.S3.S3Stores.Register();
        if (args.Length == 0 || args[0] is "help" or "--help" or "-h")
        {
            Console.Out.Write(Usage);
            Console.Out.WriteLine(ServeCommand.Usage);
            return args.Length == 0 ? 2 : 0;
        }
        try
        {
            string[] rest = args[1..];
            return args[0] switch
            {
                "serve" => await ServeCommand.RunAsync(rest).ConfigureAwait(false),
                "token" => FastMcp.Identity.TokenCommand.Run(rest, Console.Out, Console.Error),
                "config" => ConfigCheckCommand.Run(rest, Console.Out, Console.Error),
                "policy" => PolicyTestCli.Run(rest, Console.Out, Console.Error),
                "mask" => FastMcp.Pan.MaskCommand.Run(rest, Console.OpenStandardInput(), Console.OpenStandardOutput(), Console.Error),
                "approvals" => await ApprovalsCommand.RunAsync(rest, Console.Out, Console.Error).ConfigureAwait(false),
                "keys" => FastMcp.Audit.KeysCommand.Run(rest, Console.Out, Console.Error),
                "verify" => await FastMcp.Audit.VerifyCommand.RunAsync(rest, Console.Out, Console.Error).ConfigureAwait(false),
                "replay" => await FastMcp.Audit.ReplayCommand.RunAsync(rest, Console.Out, Console.Error).ConfigureAwait(false),
                "version" or "--version" => PrintVersion(),
                _ => throw new UsageException($"unknown command '{args[0]}'"),
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

    private static int PrintVersion()
    {
        Console.Out.WriteLine($"fastmcp {typeof(Program).Assembly.GetName().Version}");
        return 0;
    }
}
