using FastMcp.Audit.Cli;

namespace FastMcp.Audit;

/// <summary>`fastmcp keys generate --private FILE --public FILE`: makes the ECDSA P-256 audit signing pair.</summary>
public static class KeysCommand
{
    public const string Usage = "usage: keys generate --private PRIVATE.pem --public PUBLIC.pem";

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        try
        {
            if (args.Length == 0 || args[0] != "generate") throw new UsageException("expected 'generate'");
            var a = CliArguments.Parse(args.AsSpan(1), ["private", "public"], []);
            if (a.Positional.Count != 0) throw new UsageException("unexpected argument " + a.Positional[0]);
            string priv = a.Require("private"), pub = a.Require("public");
            AuditKeys.Generate(priv, pub);
            stdout.WriteLine(FastMcp.Text.PrintableText.Escape($"wrote private key {priv} (keep it on the gateway, mode 0600) and public key {pub} (give it to auditors)"));
            return 0;
        }
        catch (UsageException e)
        {
            stderr.WriteLine(FastMcp.Text.PrintableText.Escape("keys: " + e.Message));
            stderr.WriteLine(Usage);
            return 2;
        }
        catch (KeyFileException e)
        {
            stderr.WriteLine(FastMcp.Text.PrintableText.Escape("keys: " + e.Message));
            return 2;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine(FastMcp.Text.PrintableText.Escape("keys: " + FastMcp.Http.PlainError.Describe(e)));
            return 2;
        }
    }
}
