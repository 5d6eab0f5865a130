namespace FastMcp.Gateway.Configuration;

/// <summary>Operational log on stderr: its format and the least severe level written. Both apply on reload.</summary>
public sealed class LogOptions
{
    /// <summary>"text" (one human-readable line) or "json" (one JSON object per line, for log shippers).</summary>
    public string Format { get; set; } = "text";

    /// <summary>"debug", "info", "warn" or "error": lines below it are not written.</summary>
    public string Level { get; set; } = "info";

    /// <summary>One access-log line per exchange (see docs/operations.md#logs), written off the data path.</summary>
    public bool Access { get; set; }

    public void Validate()
    {
        if (Format is not ("text" or "json")) throw new ConfigurationException("log.format", $"'{Format}' is not text or json");
        if (Level is not ("debug" or "info" or "warn" or "error")) throw new ConfigurationException("log.level", $"'{Level}' is not debug, info, warn or error");
    }
}
