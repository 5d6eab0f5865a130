namespace FastMcp.Gateway.Hosting;

/// <summary>
/// Writes aggregate audit records on a period (refusal counts per key), and once more when stopped: a flood of refused
/// requests costs one record per key and period, never a durable record each, and nothing counted is left unrecorded.
/// </summary>
internal abstract class PeriodicRecorder(TimeSpan interval)
{
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;

    /// <summary>How long a pass covers (records say it).</summary>
    protected TimeSpan Interval => interval;

    public void Start() => _loop = RunAsync();

    /// <summary>Records what was counted since the last pass.</summary>
    protected abstract Task RecordPassAsync();

    private async Task RunAsync()
    {
        try
        {
            while (true)
            {
                try { await Task.Delay(interval, _stop.Token).ConfigureAwait(false); }
                catch (OperationCanceledException) { }
                // Read before the pass: a stop that comes while this pass records still gets one more pass,
                // so refusals counted during it are not left unrecorded.
                bool last = _stop.IsCancellationRequested;
                await RecordPassAsync().ConfigureAwait(false);
                if (last) break;
            }
        }
        catch (Exception e) when (e is ObjectDisposedException or InvalidOperationException)
        {
            // The log closed under the loop at shutdown.
        }
    }

    /// <summary>Stops the loop after one last pass.</summary>
    public async Task StopAsync()
    {
        _stop.Cancel();
        if (_loop is not null) await _loop.ConfigureAwait(false);
    }
}
