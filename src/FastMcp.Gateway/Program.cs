using FastMcp.Gateway.Cli;
using FastMcp.Gateway.Configuration;
using FastMcp.Text;

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
                "policy" => PolicyTestCli.Run(rest, Console.Out, Console.Error),
                "mask" => FastMcp.Pan.MaskCommand.Run(rest, Console.OpenStandardInput(), Console.OpenStandardOutput(), Console.Error),
                "tools" => await ToolsCommand.RunAsync(rest, Console.Out, Console.Error).ConfigureAwait(false),
                "approvals" => await ApprovalsCommand.RunAsync(rest, Console.Out, Console.Error).ConfigureAwait(false),
                "keys" => FastMcp.Audit.KeysCommand.Run(rest, Console.Out, Console.Error),
                "verify" => await FastMcp.Audit.VerifyCommand.RunAsync(rest, Console.Out, Console.Error).ConfigureAwait(false),
                "replay" => await FastMcp.Audit.ReplayCommand.RunAsync(rest, Console.Out, Console.Error).ConfigureAwait(false),
                "version" or "--version" => PrintVersion(),
                StdioExecCommand.Name => StdioExecCommand.Run(rest, Console.Error),
                _ => throw CommandHelp.Unknown(args[0]),
            };
        }
        catch (UsageException e)
        {
            // The message may quote an argument (pasted from anywhere): escaped, so it cannot drive the terminal.
            Console.Error.WriteLine(PrintableText.Escape($"fastmcp: {e.Message}"));
            Console.Error.WriteLine("run 'fastmcp help' for usage");
            return 2;
        }
        catch (ConfigurationException e)
        {
            // The message may quote a value from the file: escaped, so it cannot drive the terminal.
            Console.Error.WriteLine(PrintableText.Escape($"fastmcp: {e.Message}"));
            return 2;
        }
        catch (System.Net.Sockets.SocketException e)
        {
            Console.Error.WriteLine($"fastmcp: cannot listen: {FastMcp.Http.PlainError.Describe(e)}");
            return 1;
        }
    }

    private static int PrintVersion()
    {
        Console.Out.WriteLine($"fastmcp {typeof(Program).Assembly.GetName().Version}");
        return 0;
    }
}
