using System.Text;

namespace FastMcp.Identity;

/// <summary>
/// The header line the gateway sends upstream instead of the client's credential (no token passthrough).
/// A file source is re-read when its content changes (polled, because secret mounts swap symlinks that
/// file watchers miss); an invalid new value is ignored and the previous one kept.
/// </summary>
public sealed class UpstreamCredential : IDisposable
{
    private readonly UpstreamCredentialOptions _options;
    private readonly ITimer? _timer;
    private byte[] _headerLine = [];
    private byte[] _lastRaw = [];
    private readonly Lock _reloadLock = new();

    public UpstreamCredential(UpstreamCredentialOptions o) : this(o, TimeProvider.System) { }

    public UpstreamCredential(UpstreamCredentialOptions o, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(o);
        ArgumentNullException.ThrowIfNull(time);
        _options = o;
        if (!o.IsConfigured)
            return;
        if (!string.IsNullOrEmpty(o.ValueFile))
        {
            if (!TryReload(out string? error))
                throw new IdentityConfigurationException($"identity.upstreamCredential.valueFile: {error}");
            int interval = Math.Max(50, o.FileCheckIntervalMilliseconds);
            _timer = time.CreateTimer(static s => ((UpstreamCredential)s!).TryReload(out _), this, TimeSpan.FromMilliseconds(interval), TimeSpan.FromMilliseconds(interval));
        }
        else
        {
            string? value = Environment.GetEnvironmentVariable(o.ValueEnv!);
            if (string.IsNullOrEmpty(value))
                throw new IdentityConfigurationException($"identity.upstreamCredential.valueEnv: environment variable '{o.ValueEnv}' is not set");
            if (!TryBuild(Encoding.UTF8.GetBytes(value), out var line, out string? error))
                throw new IdentityConfigurationException($"identity.upstreamCredential.valueEnv: {error}");
            _headerLine = line;
        }
    }

    /// <summary>"Name: [Scheme ]value\r\n" ready to append to the upstream request head; empty when no credential is configured.</summary>
    public ReadOnlySpan<byte> HeaderLine => Volatile.Read(ref _headerLine);

    /// <summary>Name of the injected header, or null when none is configured.</summary>
    public string? HeaderName => _options.IsConfigured ? _options.HeaderName : null;

    /// <summary>Why the last re-read was rejected; null when the current value came from the latest file content.</summary>
    public string? LastError { get; private set; }

    /// <summary>Re-reads the file now (the timer does this periodically). Returns false and keeps the old value on error.</summary>
    public bool TryReload(out string? error)
    {
        error = null;
        if (string.IsNullOrEmpty(_options.ValueFile))
            return true;
        // The timer and an explicit call may race; one reload at a time keeps _lastRaw and the line consistent.
        lock (_reloadLock)
            return ReloadLocked(out error);
    }

    private bool ReloadLocked(out string? error)
    {
        error = null;
        byte[] raw;
        try
        {
            raw = File.ReadAllBytes(_options.ValueFile!);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            LastError = error = $"cannot read '{_options.ValueFile}': {ex.Message}";
            return false;
        }
        if (raw.AsSpan().SequenceEqual(_lastRaw))
            return true;
        if (!TryBuild(raw, out var line, out error))
        {
            LastError = error;
            return false;
        }
        _lastRaw = raw;
        Volatile.Write(ref _headerLine, line);
        LastError = null;
        return true;
    }

    private bool TryBuild(ReadOnlySpan<byte> raw, out byte[] line, out string? error)
    {
        line = [];
        var value = raw.Trim(" \t\r\n"u8);
        if (value.IsEmpty)
        {
            error = "credential value is empty";
            return false;
        }
        // Header injection guard: a value may not contain CR, LF or other control bytes.
        foreach (byte b in value)
        {
            if (b < 0x20 && b != (byte)'\t' || b == 0x7f)
            {
                error = "credential value contains control characters";
                return false;
            }
        }
        var sb = new List<byte>(value.Length + 64);
        sb.AddRange(Encoding.ASCII.GetBytes(_options.HeaderName));
        sb.AddRange(": "u8);
        if (!string.IsNullOrEmpty(_options.Scheme))
        {
            sb.AddRange(Encoding.ASCII.GetBytes(_options.Scheme));
            sb.Add((byte)' ');
        }
        sb.AddRange(value);
        sb.AddRange("\r\n"u8);
        line = [.. sb];
        error = null;
        return true;
    }

    public void Dispose() => _timer?.Dispose();
}
