namespace FastMcp.Audit.Cli;

/// <summary>Minimal "--name value" / "--flag" / positional parser shared by the audit subcommands.</summary>
public sealed class CliArguments
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<string>> _all = new(StringComparer.Ordinal);
    private readonly HashSet<string> _flags = new(StringComparer.Ordinal);

    public List<string> Positional { get; } = new();

    /// <summary>Parses <paramref name="args"/>; names in <paramref name="flags"/> take no value, names in <paramref name="valued"/> take one.</summary>
    public static CliArguments Parse(ReadOnlySpan<string> args, string[] valued, string[] flags)
    {
        var result = new CliArguments();
        for (int i = 0; i < args.Length; i++)
        {
            string a = args[i];
            if (!a.StartsWith("--", StringComparison.Ordinal) || a == "--") { result.Positional.Add(a); continue; }
            string name = a[2..];
            string? inline = null;
            int eq = name.IndexOf('=');
            if (eq >= 0) { inline = name[(eq + 1)..]; name = name[..eq]; }
            if (Array.IndexOf(flags, name) >= 0)
            {
                if (inline is not null) throw new UsageException($"--{name} takes no value");
                result._flags.Add(name);
            }
            else if (Array.IndexOf(valued, name) >= 0)
            {
                string? v = inline ?? (i + 1 < args.Length ? args[++i] : null);
                if (v is null) throw new UsageException($"--{name} needs a value");
                result._values[name] = v;
                if (!result._all.TryGetValue(name, out var list)) result._all[name] = list = new List<string>(1);
                list.Add(v);
            }
            else
            {
                throw new UsageException($"unknown option --{name}");
            }
        }
        return result;
    }

    public string? Get(string name) => _values.TryGetValue(name, out var v) ? v : null;

    /// <summary>Every value of a repeatable option, in order (Get returns the last).</summary>
    public IReadOnlyList<string> GetAll(string name) => _all.TryGetValue(name, out var list) ? list : [];

    public string Require(string name) => Get(name) ?? throw new UsageException($"--{name} is required");

    public bool Has(string name) => _flags.Contains(name);
}

/// <summary>Bad command line: exit code 2 with the message.</summary>
public sealed class UsageException(string message) : Exception(message);
