namespace FastMcp.Gateway.Configuration;

/// <summary>
/// An upstream MCP server the gateway runs itself, one process per MCP session, speaking JSON-RPC
/// over its stdin and stdout (docs/configuration.md, "upstream.stdio").
/// </summary>
public sealed class StdioUpstreamOptions
{
    /// <summary>Program to run: a path, or a name looked up on the gateway's PATH.</summary>
    public string Command { get; set; } = "";

    /// <summary>Arguments, passed as they are (no shell).</summary>
    public List<string> Args { get; set; } = [];

    /// <summary>Environment variables set for the server.</summary>
    public Dictionary<string, string> Env { get; set; } = [];

    /// <summary>Also pass the gateway's own environment (minus the variables that hold its secrets).</summary>
    public bool InheritEnvironment { get; set; }

    /// <summary>Working directory of the server. Empty: the gateway's.</summary>
    public string WorkingDirectory { get; set; } = "";

    /// <summary>A session without requests, in-flight calls or an open stream for this long is ended.</summary>
    public int SessionIdleMs { get; set; } = 600_000;

    /// <summary>Server processes (sessions) at once; an initialize beyond it gets 503.</summary>
    public int MaxSessions { get; set; } = 64;

    /// <summary>Time a stopping server gets after its stdin closes, half before SIGTERM and half before SIGKILL.</summary>
    public int StopGraceMs { get; set; } = 2_000;

    /// <summary>Largest message (one line) either way; a server that writes a longer line is stopped.</summary>
    public int MaxMessageBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>Kernel resource limits of each server process (memory, CPU time, open files); none by default.</summary>
    public StdioLimitsOptions Limits { get; set; } = new();

    /// <summary>The user and group each server process runs as; null: the gateway's own.</summary>
    public StdioRunAsOptions? RunAs { get; set; }

    /// <summary>Label for logs and audit records: "stdio:" and the command (not its arguments, which may hold secrets).</summary>
    public string Describe()
    {
        // Every record of a stdio route names it: made once per command, not per record.
        Label? label = _label;
        if (label is null || !ReferenceEquals(label.Command, Command)) _label = label = new Label(Command, "stdio:" + Command);
        return label.Text;
    }

    private sealed record Label(string Command, string Text);

    private Label? _label;

    internal void Validate(string field)
    {
        if (string.IsNullOrWhiteSpace(Command)) throw new ConfigurationException($"{field}.command", "is required (the program that runs the MCP server)");
        if (Command.Contains('\0')) throw new ConfigurationException($"{field}.command", "must not hold NUL");
        if (Args is null) throw new ConfigurationException($"{field}.args", "must be a list of strings");
        for (int i = 0; i < Args.Count; i++)
        {
            if (Args[i] is null || Args[i].Contains('\0')) throw new ConfigurationException($"{field}.args[{i}]", "must be a string without NUL");
        }
        if (Env is null) throw new ConfigurationException($"{field}.env", "must be an object of name: value strings");
        foreach ((string name, string value) in Env)
        {
            if (name.Length == 0 || name.Contains('=') || name.Contains('\0'))
                throw new ConfigurationException($"{field}.env", $"'{name}' is not a variable name (empty, or holds '=' or NUL)");
            if (value is null || value.Contains('\0')) throw new ConfigurationException($"{field}.env.{name}", "must be a string without NUL");
        }
        if (WorkingDirectory is null) throw new ConfigurationException($"{field}.workingDirectory", "must be a string");
        if (WorkingDirectory.Length > 0 && !Directory.Exists(WorkingDirectory))
            throw new ConfigurationException($"{field}.workingDirectory", $"'{WorkingDirectory}' is not a directory");
        if (SessionIdleMs < 1_000) throw new ConfigurationException($"{field}.sessionIdleMs", "must be at least 1000");
        if (MaxSessions is < 1 or > 10_000) throw new ConfigurationException($"{field}.maxSessions", "must be between 1 and 10000");
        if (StopGraceMs is < 2 or > 600_000) throw new ConfigurationException($"{field}.stopGraceMs", "must be between 2 and 600000");
        if (MaxMessageBytes is < 1024 or > 1 << 30) throw new ConfigurationException($"{field}.maxMessageBytes", "must be between 1024 and 1073741824");
        if (Limits is null) throw new ConfigurationException($"{field}.limits", "must be an object");
        Limits.Validate($"{field}.limits");
        RunAs?.Validate($"{field}.runAs");
    }
}
