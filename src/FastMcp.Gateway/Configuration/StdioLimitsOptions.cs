namespace FastMcp.Gateway.Configuration;

/// <summary>
/// Kernel resource limits (setrlimit) for each stdio server process and what it starts (docs/configuration.md,
/// "upstream.stdio"). 0 leaves a limit as the gateway's own.
/// </summary>
public sealed class StdioLimitsOptions
{
    /// <summary>Address space in MiB (RLIMIT_AS): an allocation past it fails in the server.</summary>
    public long MemoryMb { get; set; }

    /// <summary>CPU seconds (RLIMIT_CPU): SIGXCPU at the limit, SIGKILL one second later.</summary>
    public int CpuSeconds { get; set; }

    /// <summary>Open file descriptors (RLIMIT_NOFILE).</summary>
    public int OpenFiles { get; set; }

    internal bool Any => MemoryMb > 0 || CpuSeconds > 0 || OpenFiles > 0;

    internal void Validate(string field)
    {
        if (MemoryMb is < 0 or > 1L << 24) throw new ConfigurationException($"{field}.memoryMb", "must be between 0 (no limit) and 16777216 (16 TiB)");
        if (MemoryMb is > 0 and < 16) throw new ConfigurationException($"{field}.memoryMb", "must be at least 16 (no runtime starts in less) or 0 for no limit");
        if (CpuSeconds is < 0 or > 31_536_000) throw new ConfigurationException($"{field}.cpuSeconds", "must be between 0 (no limit) and 31536000");
        if (OpenFiles is < 0 or > 1 << 20) throw new ConfigurationException($"{field}.openFiles", "must be between 0 (no limit) and 1048576");
        if (OpenFiles is > 0 and < 8) throw new ConfigurationException($"{field}.openFiles", "must be at least 8 (stdin, stdout, stderr and the runtime's own) or 0 for no limit");
    }
}
