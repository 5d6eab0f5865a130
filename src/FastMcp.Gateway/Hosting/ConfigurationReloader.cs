using System.Runtime.InteropServices;
using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Stages;
using FastMcp.Policy;

namespace FastMcp.Gateway.Hosting;

/// <summary>
/// Hot reload: when the configuration file changes (polled, which also sees Kubernetes ConfigMap
/// symlink swaps) or on SIGHUP, the file is loaded, validated and its policy compiled. An invalid
/// file changes nothing ("rejected"). A valid one is compared with the file as last applied, field by
/// field: the policy is swapped in atomically, masking takes its new settings, upstreams their new url
/// and timeouts, identity a new token validator (IdentityReload.cs), and the other live fields (timeouts, most limits, log level and format) are copied into
/// the options in force; every other changed field keeps its old value and is logged by name as needing
/// a restart ("partially applied").
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
    private readonly GatewayOptions? _inForce;
    private readonly Upstream.RouteTable? _routes;
    private readonly Authentication? _authentication;
    private GatewayOptions? _applied;
    private DateTime _lastWrite;
    private long _lastLength;

    /// <param name="masking">The masking in force: a reload takes its new settings (masking.* except enabled) and a reloaded policy may name only its profiles.</param>
    /// <param name="inForce">The options the gateway runs with (file plus command-line overrides), which live fields are copied into; null: policy only.</param>
    /// <param name="routes">The running routes, whose upstreams a changed url retargets; null: urls need a restart.</param>
    /// <param name="authentication">The running identity stage, which a changed identity section replaces the settings of; null: identity needs a restart.</param>
    public ConfigurationReloader(string path, PolicyAuthorization authorization, AuditRecording? audit, PanMasking? masking, TimeSpan pollInterval,
        GatewayOptions? inForce = null, Upstream.RouteTable? routes = null, Authentication? authentication = null)
    {
        _inForce = inForce;
        _routes = routes;
        _authentication = authentication;
        try
        {
            _applied = ConfigurationLoader.Load(path);
        }
        catch (ConfigurationException)
        {
            _applied = null; // compared with nothing: every field of the next valid file counts as changed
        }
        _path = Path.GetFullPath(path);
        _authorization = authorization;
        _audit = audit;
        _masking = masking;
        (_lastWrite, _lastLength) = Stamp();
        _timer = new Timer(_ =>
        {
            if (Stamp() != (_lastWrite, _lastLength)) Reload("file changed");
            else _authorization.ToolPins?.ReloadIfChanged();
        }, null, pollInterval, pollInterval);
        if (!OperatingSystem.IsWindows())
            _sighup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, ctx => { ctx.Cancel = true; Reload("SIGHUP"); });
    }

    public int Reloads { get; private set; }
    public int Rejected { get; private set; }

    /// <summary>The fields of the last reload that need a restart (kept at their old values).</summary>
    public IReadOnlyList<string> RestartRequired { get; private set; } = [];

    /// <summary>The fields the last reload applied live.</summary>
    public IReadOnlyList<string> AppliedLive { get; private set; } = [];

    /// <summary>Reloads now; returns true when the file was valid (its policy and live fields are in force).</summary>
    public bool Reload(string why)
    {
        lock (_gate)
        {
            (_lastWrite, _lastLength) = Stamp();
            // The pins file is read on every reload, whatever the configuration file holds: a bad one keeps the pins in force.
            _authorization.ToolPins?.Reload(why);
            PolicyEngine engine;
            GatewayOptions options;
            PanMasking? reloadedMasking = null;
            List<string> changed;
            Identity.IdentityOptions? reloadedIdentity = null;
            try
            {
                options = ConfigurationLoader.Load(_path);
                changed = _applied is null ? [] : ConfigurationDiff.ChangedFields(_applied, options);
                // Masking changed (and stays on): built now, so that a bad value rejects the whole reload.
                if (MaskingCanChangeLive(options) && changed.Exists(IsMaskingField))
                    reloadedMasking = GatewayStages.CreateMasking(options.Masking, _masking!.FingerprintKey);
                // containsSensitiveData looks for the names the masking in force after this reload blanks.
                engine = GatewayStages.CompilePolicy(options.Policy, _authorization.Clock,
                    GatewayStages.PolicySensitiveMembers(options.Masking, reloadedMasking ?? _masking));
                GatewayStages.CheckMaskProfiles(engine, reloadedMasking ?? _masking);
                // Routes take a restart: the rules must name upstreams of the routes running now.
                GatewayStages.CheckRuleUpstreams(engine, _inForce ?? options);
                // Last, because it takes effect at once: a new validator (keys fetched) replaces the one in force.
                if (_authentication is not null && IdentityReload.CanApply(_authentication, changed))
                {
                    reloadedIdentity = IdentityReload.KeepRestartOnlyFields(options.Identity!, _authentication.Options);
                    IdentityReload.Apply(_authentication, reloadedIdentity);
                }
            }
            catch (ConfigurationException e)
            {
                Rejected++;
                ReloadCounters.CountRejected();
                Log.Error($"configuration reload ({why}) rejected, nothing changed: {FastMcp.Http.PlainError.Describe(e)}");
                Record(false, $"rejected ({why}): {FastMcp.Http.PlainError.Describe(e)}");
                return false;
            }
            var live = new List<string>();
            var restart = new List<string>();
            if (_applied is not null)
            {
                foreach (string field in changed)
                {
                    if (ConfigurationDiff.IsLive(field) && (_inForce is not null || field.StartsWith("policy", StringComparison.Ordinal))) live.Add(field);
                    else if (CanRetarget(field, options, out _)) live.Add(field);
                    else if (reloadedMasking is not null && IsMaskingField(field)) live.Add(field);
                    else if (reloadedIdentity is not null && IdentityReload.IsLive(field)) live.Add(field);
                    else restart.Add(field);
                }
            }
            // Masking before the policy: a reloaded rule may pick a profile only the new masking has.
            if (reloadedMasking is not null)
            {
                _masking!.TakeSettingsOf(reloadedMasking);
                if (_inForce is not null) _inForce.Masking = options.Masking;
            }
            _authorization.Swap(engine);
            if (_inForce is not null) ConfigurationDiff.ApplyLive(_inForce, options);
            if (_inForce is not null && reloadedIdentity is not null) _inForce.Identity = reloadedIdentity;
            foreach (string field in live) Retarget(field, options);
            // The file as applied: new policy and live fields; restart-only fields stay as at start, so they are reported until a restart.
            if (_applied is null) _applied = options;
            else
            {
                _applied.Policy = options.Policy;
                if (reloadedMasking is not null) _applied.Masking = options.Masking;
                // The restart-only identity fields (devKeyDirectory, upstreamCredential) are the running ones in it.
                if (reloadedIdentity is not null) _applied.Identity = reloadedIdentity;
                if (_inForce is not null) ConfigurationDiff.ApplyLive(_applied, options);
            }
            Reloads++;
            AppliedLive = live;
            RestartRequired = restart;
            foreach (string field in restart)
                Log.Warn($"configuration reload ({why}): field {field} changed; restart required to apply (the old value stays in force)");
            string summary = $"policy with {engine.Rules.Count} rule(s) in force; applied live: {(live.Count == 0 ? "no other change" : string.Join(", ", live))}"
                + (restart.Count == 0 ? "" : $"; restart required for: {string.Join(", ", restart)}");
            if (restart.Count == 0)
            {
                ReloadCounters.CountApplied();
                Log.Info($"configuration reload ({why}) applied: {summary}");
            }
            else
            {
                ReloadCounters.CountPartial();
                Log.Warn($"configuration reload ({why}) partially applied: {summary}");
            }
            Record(true, $"reload ({why}) {(restart.Count == 0 ? "applied" : "partially applied")}: {summary}");
            return true;
        }
    }

    // Masking settings apply live while masking stays enabled; turning it on or off needs a restart (the stage is
    // in every connection's response path from the start, or not at all).
    private bool MaskingCanChangeLive(GatewayOptions loaded) => _masking is not null && loaded.Masking.Enabled;

    private static bool IsMaskingField(string field) => field.StartsWith("masking.", StringComparison.Ordinal) && field != "masking.enabled";

    /// <summary>
    /// An upstream's url can change live when it names a running upstream over plain http(s) both before and after,
    /// and the value in force is the file's (not a --upstream flag, not the built-in demo server).
    /// </summary>
    private bool CanRetarget(string field, GatewayOptions loaded, out Upstream.UpstreamRoute? route)
    {
        route = null;
        if (_routes is null || _inForce is null || _applied is null) return false;
        if (!ConfigurationDiff.UpstreamField(field, out string name, out string rest) || rest != "url") return false;
        UpstreamOptions? before = ConfigurationDiff.UpstreamNamed(_applied, name), after = ConfigurationDiff.UpstreamNamed(loaded, name),
            running = ConfigurationDiff.UpstreamNamed(_inForce, name);
        if (before is null || after is null || running is null) return false;
        if (string.IsNullOrEmpty(before.Url) || string.IsNullOrEmpty(after.Url) || before.Url != running.Url) return false;
        route = _routes.Upstream(name);
        return route is not null;
    }

    private void Retarget(string field, GatewayOptions loaded)
    {
        if (!CanRetarget(field, loaded, out Upstream.UpstreamRoute? route)) return;
        ConfigurationDiff.UpstreamField(field, out string name, out _);
        string url = ConfigurationDiff.UpstreamNamed(loaded, name)!.Url;
        string was = route!.Url.Text;
        // Validated with the whole file above; parsed here for the route.
        route.Retarget(UpstreamUrl.Parse(url, field));
        ConfigurationDiff.UpstreamNamed(_inForce!, name)!.Url = url;
        ConfigurationDiff.UpstreamNamed(_applied!, name)!.Url = url;
        Log.Info($"upstream '{name}': new exchanges go to {url} (was {was}); exchanges in flight finish where they started");
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
