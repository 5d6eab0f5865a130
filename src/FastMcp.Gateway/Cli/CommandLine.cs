namespace FastMcp.Gateway.Cli;

/// <summary>Minimal "--name value" and "--flag" parsing for the subcommands.</summary>
internal sealed class CommandLine
{
    private readonly Dictionary<string, List<string>> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _flags = new(StringComparer.Ordinal);

    private CommandLine() { }

    /// <summary>Parses args; options in <paramref name="flagNames"/> take no value. Throws UsageException on anything unknown.</summary>
    public static CommandLine Parse(ReadOnlySpan<string> args, string[] valueNames, string[] flagNames)
    {
        var cl = new CommandLine();
        for (int i = 0; i < args.Length; i++)
        {
            string a = args[i];
            string name = a, value = "";
            int eq = a.IndexOf('=');
            bool inline = a.StartsWith("--", StringComparison.Ordinal) && eq > 2;
            if (inline)
            {
                name = a[..eq];
                value = a[(eq + 1)..];
            }
            if (Array.IndexOf(flagNames, name) >= 0 && !inline)
            {
                cl._flags.Add(name);
                continue;
            }
            if (Array.IndexOf(valueNames, name) < 0)
            {
                string? guess = Suggestion.Closest(name, [.. valueNames, .. flagNames]);
                throw new UsageException(guess is null ? $"unknown option '{a}'" : $"unknown option '{a}'; did you mean '{guess}'?");
            }
            if (!inline)
            {
                if (i + 1 >= args.Length) throw new UsageException($"option '{name}' needs a value");
                value = args[++i];
            }
            if (!cl._values.TryGetValue(name, out List<string>? list)) cl._values[name] = list = [];
            list.Add(value);
        }
        return cl;
    }

    /// <summary>True when the arguments ask for help (-h, --help) anywhere.</summary>
    public static bool WantsHelp(ReadOnlySpan<string> args)
    {
        foreach (string a in args)
            if (a is "-h" or "--help") return true;
        return false;
    }

    public bool Has(string flag) => _flags.Contains(flag);

    public string? Get(string name) => _values.TryGetValue(name, out List<string>? v) ? v[^1] : null;

    public IReadOnlyList<string> GetAll(string name) => _values.TryGetValue(name, out List<string>? v) ? v : [];
}

internal sealed class UsageException(string message) : Exception(message);
