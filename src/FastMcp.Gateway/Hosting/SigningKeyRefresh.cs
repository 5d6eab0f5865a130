using System.Runtime.InteropServices;
using FastMcp.Gateway.Stages;

namespace FastMcp.Gateway.Hosting;

/// <summary>
/// SIGHUP also fetches every trusted issuer's signing keys at once (docs/operations.md, "Identity provider key
/// rotation"). Without it a key an identity provider revoked stays accepted until the next scheduled refresh
/// (identity.keyRefreshMinutes, an hour by default), and the only faster way was a restart, which forgets in-memory
/// session and task bindings. The configuration reload that the same signal starts is separate (ConfigurationReloader).
/// </summary>
internal sealed class SigningKeyRefresh : IDisposable
{
    private readonly Authentication _authentication;
    private readonly PosixSignalRegistration? _sighup;

    public SigningKeyRefresh(Authentication authentication, bool onSignal)
    {
        _authentication = authentication;
        if (onSignal && !OperatingSystem.IsWindows())
            _sighup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, ctx => { ctx.Cancel = true; _ = RefreshAsync("SIGHUP"); });
    }

    /// <summary>Refreshes now; true when every issuer's keys were fetched (a failure keeps that issuer's keys in force, logged).</summary>
    public async Task<bool> RefreshAsync(string why)
    {
        // Dev mode with no configured issuer: only the fixed dev key, nothing to fetch (nor to log).
        if (_authentication.Options.Issuers.Count == 0) return true;
        IReadOnlyList<string> failures = await _authentication.RefreshKeysAsync().ConfigureAwait(false);
        foreach (string failure in failures)
            Log.Warn($"identity: signing key refresh ({why}) failed, the keys in force stay: {failure}");
        if (failures.Count == 0)
            Log.Info($"identity: signing keys refreshed ({why}) for every trusted issuer");
        return failures.Count == 0;
    }

    public void Dispose() => _sighup?.Dispose();
}
