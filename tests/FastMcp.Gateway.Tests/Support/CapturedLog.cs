using FastMcp.Gateway.Hosting;

namespace FastMcp.Gateway.Tests.Support;

/// <summary>
/// The gateway's log lines while it lives. Log.Output is process-wide: tests using it belong to
/// <see cref="LogOutputCollection"/>, which keeps other tests off it meanwhile.
/// </summary>
internal sealed class CapturedLog : IDisposable
{
    private readonly TextWriter _previous = Log.Output;
    private readonly StringWriter _lines = new();

    public CapturedLog() => Log.Output = _lines;

    /// <summary>Everything written so far (the log writes under a lock on its output, taken here too).</summary>
    public string Text
    {
        get { lock (_lines) return _lines.ToString(); }
    }

    /// <summary>The lines holding <paramref name="fragment"/>.</summary>
    public string[] LinesWith(string fragment) => Array.FindAll(Text.Split('\n'), l => l.Contains(fragment, StringComparison.Ordinal));

    public void Dispose() => Log.Output = _previous;
}
