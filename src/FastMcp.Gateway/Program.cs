using FastMcp.Gateway.Cli;
using FastMcp.Gateway.Configuration;

namespace FastMcp.Gateway;

internal static class Program
{
    private const string Usage = """
        fastmcp — identity-aware MCP security gateway

        usage: fastmcp <command> [options]

        commands:
          serve      run the gateway (embedded defaults when no --config is given)
          version    print the version
          help       print this text

        """;

    public static async Task<int> Main(string[] args)
    {
        if (args.Length == 0 || args[0] is "help" or "--help" or "-h")
        {
            Console.Out.Write(Usage);
            Console.Out.WriteLine(ServeCommand.Usage);
            return args.Length == 0 ? 2 : 0;
        }
        try
        {
            return args[0] switch
            {
                "serve" => await ServeCommand.RunAsync(args[1..]).ConfigureAwait(false),
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
