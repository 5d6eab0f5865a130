using System.Runtime.InteropServices;
using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Stages;
using FastMcp.Policy;

namespace FastMcp.Gateway.Hosting;

/// <summary>
/// Hot reload of the policy: when the configuration file changes (polled, which also sees
/// Kubernetes ConfigMap symlink swaps) or on SIGHUP, the file is parsed and the policy compiled;
/// only a valid policy is swapped in, atomically. An invalid file leaves the old policy and is logged.
/// </summary>
internal sealed class ConfigurationReloader : IDisposable
{
    private readonly string _path;
    private readonly PolicyAuthorization _authorization;
    private readonly AuditRecording? _audit;
    private readonly PanMasking? _masking;
    private readonly Timer _timer;
    private readonly PosixSignalRegistration? _sighup;
    private readonly Lock _gate = new();
    private DateTime _lastWrite;
    private long _lastLength;

    /// <param name="masking">The masking in force (not reloaded): a reloaded policy may name only its profiles.</param>
    public ConfigurationReloader(string path, PolicyAuthorization authorization, AuditRecording? audit, PanMasking? masking, TimeSpan pollInterval)
    {
        _path = Path.GetFullPath(path);
        _authorization = authorization;
        _audit = audit;
        _masking = masking;
        (_lastWrite, _lastLength) = Stamp();
        _timer = new Timer(_ => { if (Stamp() != (_lastWrite, _lastLength)) Reload("file changed"); }, null, pollInterval, pollInterval);
        if (!OperatingSystem.IsWindows())
            _sighup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, ctx => { ctx.Cancel = true; Reload("SIGHUP"); });
    }

    public int Reloads { get; private set; }
    public int Rejected { get; private set; }

    /// <summary>Reloads now; returns true when a new policy was swapped in.</summary>
    public bool Reload(string why)
    {
        lock (_gate)
        {
            (_lastWrite, _lastLength) = Stamp();
            PolicyEngine engine;
            try
            {
                GatewayOptions options = ConfigurationLoader.Load(_path);
                engine = GatewayStages.CompilePolicy(options.Policy);
                GatewayStages.CheckMaskProfiles(engine, _masking);
            }
            catch (ConfigurationException e)
            {
                Rejected++;
                Log.Error($"configuration reload ({why}) refused, the previous policy stays: {e.Message}");
                Record(false, $"refused ({why}): {e.Message}");
                return false;
            }
            _authorization.Swap(engine);
            Reloads++;
            Log.Info($"configuration reloaded ({why}): policy with {engine.Rules.Count} rule(s) in force");
            Record(true, $"policy reloaded ({why}): {engine.Rules.Count} rules");
            return true;
        }
    }

    private void Record(bool success, string detail)
    {
        if (_audit is null) return;
        try
        {
            _audit.RecordConfigurationReloadAsync(success, detail).AsTask().GetAwaiter().GetResult();
        }
        catch (FastMcp.Audit.AuditUnavailableException)
        {
            Log.Error("audit log unavailable: the configuration reload could not be recorded");
        }
    }

    private (DateTime, long) Stamp()
    {
        try
        {
            var info = new FileInfo(_path);
            return info.Exists ? (info.LastWriteTimeUtc, info.Length) : (DateTime.MinValue, -1);
        }
        catch (IOException)
        {
            return (DateTime.MinValue, -1);
        }
    }

    public void Dispose()
    {
        _timer.Dispose();
        _sighup?.Dispose();
    }
}
