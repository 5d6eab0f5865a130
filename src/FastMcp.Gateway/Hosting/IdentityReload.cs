using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Stages;
using FastMcp.Identity;

namespace FastMcp.Gateway.Hosting;

/// <summary>
/// Which identity.* changes a reload applies, and applying them: a new token validator built from the new section
/// replaces the one in force (Stages/Authentication.cs), so removing an issuer, tightening the scopes or the
/// algorithms takes effect at the next request, tokens verified before included. Restart-only: identity.mode (the
/// listener checks and the stages built at start depend on it; any other identity change made with it waits for the
/// restart too), identity.devKeyDirectory and identity.upstreamCredential (the routes hold the credential built at start).
/// </summary>
internal static class IdentityReload
{
    public static bool IsLive(string field) =>
        field.StartsWith("identity.", StringComparison.Ordinal)
        && field != "identity.mode" && field != "identity.devKeyDirectory"
        && field != "identity.upstreamCredential" && !field.StartsWith("identity.upstreamCredential.", StringComparison.Ordinal);

    /// <summary>True when <paramref name="changed"/> holds a live identity field and nothing that makes identity wait for a restart.</summary>
    public static bool CanApply(Authentication running, List<string> changed)
    {
        // Anonymous mode verifies nothing: its settings matter only after a mode change, which is a restart.
        if (running.IsAnonymous || changed.Contains("identity") || changed.Contains("identity.mode")) return false;
        return changed.Exists(IsLive);
    }

    /// <summary>The reloaded section with the restart-only fields set back to the running ones (so they stay reported as pending).</summary>
    public static IdentityOptions KeepRestartOnlyFields(IdentityOptions reloaded, IdentityOptions running)
    {
        reloaded.DevKeyDirectory = running.DevKeyDirectory;
        reloaded.UpstreamCredential = running.UpstreamCredential;
        return reloaded;
    }

    /// <summary>Builds the new validator (every issuer's keys fetched, as at start) and puts it in force; a failure changes nothing.</summary>
    public static void Apply(Authentication running, IdentityOptions reloaded)
    {
        try
        {
            // Blocking: reloads are serialised on the reloader's lock and run on a timer or signal thread.
            running.ReplaceAsync(reloaded, CancellationToken.None).GetAwaiter().GetResult();
        }
        // What building a validator can throw (dev key unreadable included): the reload is rejected, never the process ended.
        catch (Exception e) when (e is IdentityConfigurationException or HttpRequestException or IOException or UnauthorizedAccessException
            or System.Security.Cryptography.CryptographicException or OperationCanceledException)
        {
            throw new ConfigurationException("identity", FastMcp.Http.PlainError.Describe(e));
        }
    }
}
