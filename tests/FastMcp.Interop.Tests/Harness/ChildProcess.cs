using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using System.Threading.Channels;

namespace FastMcp.Interop.Tests.Harness;

/// <summary>
/// A child process whose stdout and stderr are captured line by line. Every wait is bounded by a
/// timeout, and Dispose kills the whole process tree if it is still running, so a failing test
/// never leaves a peer behind.
/// </summary>
internal sealed class ChildProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private readonly Channel<string> _stdoutLines = Channel.CreateUnbounded<string>();
    private readonly string _displayName;

    private ChildProcess(Process process, string displayName)
    {
        _process = process;
        _displayName = displayName;
    }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    public string StandardOutput
    {
        get { lock (_stdout) { return _stdout.ToString(); } }
    }

    public string StandardError
    {
        get { lock (_stderr) { return _stderr.ToString(); } }
    }

    /// <summary>Both streams, for assertion messages.</summary>
    public string Transcript => $"--- {_displayName} stdout ---\n{StandardOutput}--- stderr ---\n{StandardError}";

    public static ChildProcess Start(
        string fileName,
        IEnumerable<string> arguments,
        IReadOnlyDictionary<string, string>? environment = null,
        string? workingDirectory = null)
    {
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
            WorkingDirectory = workingDirectory ?? RepoPaths.Root,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }
        if (environment is not null)
        {
            foreach (var (key, value) in environment)
            {
                info.Environment[key] = value;
            }
        }

        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var child = new ChildProcess(process, $"{Path.GetFileName(fileName)} {string.Join(' ', info.ArgumentList)}");
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                child._stdoutLines.Writer.TryComplete();
                return;
            }
            lock (child._stdout)
            {
                child._stdout.Append(e.Data).Append('\n');
            }
            child._stdoutLines.Writer.TryWrite(e.Data);
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                return;
            }
            lock (child._stderr)
            {
                child._stderr.Append(e.Data).Append('\n');
            }
        };
        if (!process.Start())
        {
            throw new InvalidOperationException($"could not start {fileName}");
        }
        // Peers must not wait on our stdin; closing it also tells stdio-style programs we are done.
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return child;
    }

    /// <summary>
    /// Consumes stdout lines until one matches; fails when the process exits or the time runs out.
    /// Lines are consumed in order, so successive calls see successive lines.
    /// </summary>
    public async Task<Match> WaitForStdoutLineAsync(Regex pattern, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await foreach (var line in _stdoutLines.Reader.ReadAllAsync(cts.Token))
            {
                var match = pattern.Match(line);
                if (match.Success)
                {
                    return match;
                }
            }
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            throw new TimeoutException(
                $"no stdout line matching /{pattern}/ within {timeout.TotalSeconds:0}s\n{Transcript}");
        }
        // Give stderr a moment to drain so the message says why the process ended.
        await WaitForExitAsync(TimeSpan.FromSeconds(2)).ContinueWith(_ => { }, TaskScheduler.Default);
        throw new InvalidOperationException(
            $"process ended before printing a line matching /{pattern}/\n{Transcript}");
    }

    /// <summary>Waits for exit (and for the output streams to drain) and returns the exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            throw new TimeoutException($"process still running after {timeout.TotalSeconds:0}s\n{Transcript}");
        }
        return _process.ExitCode;
    }

    public void Signal(int signal) => PosixSignal.Send(_process.Id, signal);

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException)
        {
            // Exited between the check and the kill: nothing left to stop.
        }
        _process.Dispose();
    }
}
