namespace FastMcp.Identity;

/// <summary>
/// <c>fastmcp token --sub alice --groups sre</c>: mints a short-lived token with the local dev key,
/// trusted by <c>fastmcp serve</c> in dev mode only.
/// </summary>
public static class TokenCommand
{
    public static readonly TimeSpan DefaultLifetime = TimeSpan.FromMinutes(15);
    public static readonly TimeSpan MaxLifetime = TimeSpan.FromHours(24);

    public const string Usage =
        "usage: fastmcp token --sub <subject> [--groups a,b] [--scopes \"s1 s2\"] [--client-id id]\n" +
        "                     [--aud <resource-uri>] [--ttl 15m|1h|900s] [--key-dir <dir>]\n" +
        "Mints a dev-mode access token signed by the local dev key (trusted only by `fastmcp serve` in dev mode).\n";

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr) => Run(args, stdout, stderr, TimeProvider.System);

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(args);
        string? subject = null, clientId = null, keyDir = null;
        string audience = DevKeys.Audience;
        var groups = new List<string>();
        var scopes = new List<string>();
        var lifetime = DefaultLifetime;
        int i = args.Length > 0 && args[0] == "token" ? 1 : 0;
        for (; i < args.Length; i++)
        {
            string arg = args[i];
            if (arg is "-h" or "--help")
            {
                stdout.Write(Usage);
                return 0;
            }
            if (i + 1 >= args.Length)
                return Fail(stderr, $"{arg}: missing value");
            string value = args[++i];
            switch (arg)
            {
                case "--sub": subject = value; break;
                case "--groups": AddList(groups, value, ','); break;
                case "--scopes": AddList(scopes, value, ' ', ','); break;
                case "--client-id": clientId = value; break;
                case "--aud": audience = value; break;
                case "--key-dir": keyDir = value; break;
                case "--ttl":
                    if (!TryParseDuration(value, out lifetime) || lifetime <= TimeSpan.Zero || lifetime > MaxLifetime)
                        return Fail(stderr, $"--ttl: '{value}' is not a duration between 1s and 24h (e.g. 900s, 15m, 1h)");
                    break;
                default:
                    return Fail(stderr, $"unknown option '{arg}'");
            }
        }
        if (string.IsNullOrEmpty(subject))
            return Fail(stderr, "--sub is required");
        try
        {
            using var key = DevKeys.LoadOrCreate(keyDir ?? DevKeys.DefaultDirectory);
            stdout.WriteLine(key.Mint(subject, groups, scopes, clientId, audience, time.GetUtcNow(), lifetime));
            return 0;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or IdentityConfigurationException or System.Security.Cryptography.CryptographicException)
        {
            stderr.WriteLine($"fastmcp token: {FastMcp.Http.PlainError.Describe(ex)}");
            return 1;
        }
    }

    /// <summary>Parses "900", "900s", "15m", "1h".</summary>
    public static bool TryParseDuration(string text, out TimeSpan value)
    {
        value = default;
        if (string.IsNullOrEmpty(text))
            return false;
        char unit = text[^1];
        string number = char.IsAsciiLetter(unit) ? text[..^1] : text;
        if (!long.TryParse(number, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out long n) || n > 1_000_000)
            return false;
        switch (char.IsAsciiLetter(unit) ? unit : 's')
        {
            case 's': value = TimeSpan.FromSeconds(n); return true;
            case 'm': value = TimeSpan.FromMinutes(n); return true;
            case 'h': value = TimeSpan.FromHours(n); return true;
            default: return false;
        }
    }

    private static void AddList(List<string> list, string value, params char[] separators)
    {
        foreach (var item in value.Split(separators, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            if (!list.Contains(item))
                list.Add(item);
    }

    private static int Fail(TextWriter stderr, string message)
    {
        // The message may quote an argument: escaped, so it cannot drive the terminal.
        stderr.WriteLine(FastMcp.Text.PrintableText.Escape($"fastmcp token: {message}"));
        stderr.Write(Usage);
        return 2;
    }
}
