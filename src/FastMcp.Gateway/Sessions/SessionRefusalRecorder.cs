using FastMcp.Gateway.Stages;

namespace FastMcp.Gateway.Sessions;

/// <summary>
/// Records the requests refused for naming a session not the caller's in aggregate: every sessions.recordIntervalSeconds
/// one Denied record (HTTP 404) per caller, upstream and reason that had any, with the count, instead of a durable record
/// per refused request of a flood (a caller guessing ids must not be able to fill the audit log).
/// </summary>
/// <param name="describeUpstream">an upstream's name to what its records call it (its url, or stdio:COMMAND)</param>
internal sealed class SessionRefusalRecorder(SessionRefusalTally tally, TimeSpan interval, AuditRecording audit, Func<string, string?> describeUpstream)
{
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;

    public void Start() => _loop = RunAsync();

    private async Task RunAsync()
    {
        try
        {
            while (true)
            {
                try { await Task.Delay(interval, _stop.Token).ConfigureAwait(false); }
                catch (OperationCanceledException) { }
                // Read before the drain: a stop that comes while this pass records still gets one more pass,
                // so refusals counted during it are not left unrecorded.
                bool last = _stop.IsCancellationRequested;
                foreach (SessionRefusalSummary refused in tally.Drain())
                {
                    try
                    {
                        await audit.RecordSessionRefusalsAsync(refused, refused.Upstream is { } name ? describeUpstream(name) : null, interval).ConfigureAwait(false);
                    }
                    catch (FastMcp.Audit.AuditUnavailableException)
                    {
                        Hosting.Log.Warn($"audit log unavailable: {refused.Refused} request(s) of {refused.Subject ?? "callers no longer tracked"} refused for naming a session not theirs could not be recorded");
                    }
                }
                if (last) break;
            }
        }
        catch (Exception e) when (e is ObjectDisposedException or InvalidOperationException)
        {
            // The log closed under the loop at shutdown.
        }
    }

    /// <summary>Stops the loop after one last drain.</summary>
    public async Task StopAsync()
    {
        _stop.Cancel();
        if (_loop is not null) await _loop.ConfigureAwait(false);
    }
}
