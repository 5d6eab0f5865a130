using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Threading.Channels;
using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Hosting;

namespace FastMcp.Gateway.Upstream.Stdio;

/// <summary>
/// One MCP session of a stdio upstream: its own server process, lines to its stdin, and each line from
/// its stdout routed to whoever waits for it. A response goes to the client request with its id; any
/// other message (notification, server-to-client request) goes to the earliest call still in flight,
/// or, when none is, to the session's GET stream (held, up to <see cref="MaxHeldMessages"/>, until one opens).
/// </summary>
internal sealed class StdioSession
{
    public const int MaxHeldMessages = 256;

    private readonly Process _process;
    private readonly Stream _stdin;
    private readonly SemaphoreSlim _stdinLock = new(1, 1);
    private readonly StdioUpstreamOptions _options;
    private readonly Action<StdioSession> _onEnded;
    private readonly StdioEventLog _events;
    private readonly object _gate = new();
    private readonly List<MessageStream> _calls = [];
    private readonly Queue<byte[]> _held = new();
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private MessageStream? _getStream;
    private string? _endReason;
    private long _lastActivity = Environment.TickCount64;

    private StdioSession(string id, Process process, StdioUpstreamOptions options, string prefix, StdioEventLog events, Action<StdioSession> onEnded)
    {
        _events = events;
        Id = id;
        _process = process;
        _stdin = process.StandardInput.BaseStream;
        _options = options;
        _onEnded = onEnded;
        LogPrefix = prefix;
        ProcessId = process.Id;
    }

    public string Id { get; }
    public int ProcessId { get; }
    public string LogPrefix { get; }

    /// <summary>Why the session ended (null while it runs).</summary>
    public string? EndReason => Volatile.Read(ref _endReason);

    /// <summary>Completes when the server process is gone.</summary>
    public Task Stopped => _stopped.Task;

    /// <summary>Starts the server process. Throws <see cref="System.ComponentModel.Win32Exception"/> when it cannot run.</summary>
    public static StdioSession Start(string id, string upstreamName, StdioUpstreamOptions options, IReadOnlyCollection<string> withheldVariables,
        StdioEventLog events, Action<StdioSession> onEnded)
    {
        // A server with a runAs starts through `fastmcp stdio-exec`, which enters the working directory and sets the limits itself.
        bool switches = options.RunAs is { Switches: true };
        ProcessStartInfo start;
        if (switches)
        {
            start = RunAsStart.Create(options, options.RunAs!);
        }
        else
        {
            start = new ProcessStartInfo(options.Command) { WorkingDirectory = options.WorkingDirectory };
            foreach (string a in options.Args) start.ArgumentList.Add(a);
        }
        start.UseShellExecute = false;
        start.RedirectStandardInput = true;
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        // Only what the configuration names, unless told to inherit; the gateway's secrets never.
        if (!options.InheritEnvironment) start.Environment.Clear();
        foreach (string name in withheldVariables) start.Environment.Remove(name);
        foreach ((string name, string value) in options.Env) start.Environment[name] = value;

        Process process = Process.Start(start) ?? throw new InvalidOperationException($"{options.Command} did not start");
        if (!switches && options.Limits.Any && ProcessLimits.TryApply(process.Id, options.Limits) is { } notLimited)
        {
            // A server the limits could not reach is not used: it is stopped before it is given anything to do.
            try { process.Kill(entireProcessTree: true); } catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception) { }
            process.Dispose();
            throw new InvalidOperationException($"{options.Command} could not be given its limits ({notLimited}); stopped");
        }
        string prefix = $"{upstreamName} session {id[..8]} (pid {process.Id}{(switches ? $", {options.RunAs!.Describe()}" : "")})";
        var session = new StdioSession(id, process, options, prefix, events, onEnded);
        // A client starts one per initialize: a few lines per interval, then counted.
        if (events.Count(StdioEvent.SessionStarted, out int held)) Log.Info($"{prefix}: started {options.Describe()}" + LogRateLimit.Held(held));
        _ = StderrLog.PumpAsync(process.StandardError.BaseStream, prefix, events);
        _ = session.ReadStdoutAsync();
        return session;
    }

    public void Touch() => Volatile.Write(ref _lastActivity, Environment.TickCount64);

    /// <summary>No call in flight, no GET stream open and nothing heard for sessionIdleMs.</summary>
    public bool IsIdle(long now)
    {
        lock (_gate)
        {
            if (_calls.Count > 0 || _getStream is not null) return false;
        }
        return now - Volatile.Read(ref _lastActivity) >= _options.SessionIdleMs;
    }

    /// <summary>Registers a client request before it is written, so its answer cannot arrive first. Null: an equal id is in flight.</summary>
    public MessageStream? BeginCall(string idKey)
    {
        Touch();
        lock (_gate)
        {
            if (_endReason is not null) return null;
            foreach (MessageStream c in _calls)
            {
                if (c.IdKey == idKey) return null;
            }
            var call = new MessageStream(idKey);
            _calls.Add(call);
            return call;
        }
    }

    /// <summary>The HTTP side is done with a call (answered, or its connection went away).</summary>
    public void EndCall(MessageStream call)
    {
        lock (_gate) _calls.Remove(call);
        call.Messages.Writer.TryComplete();
    }

    /// <summary>Opens the GET stream (null when one is open or the session ended), with held messages first.</summary>
    public MessageStream? OpenGetStream()
    {
        Touch();
        lock (_gate)
        {
            if (_getStream is not null || _endReason is not null) return null;
            var stream = new MessageStream(null);
            while (_held.Count > 0 && stream.Messages.Writer.TryWrite(new BridgeMessage(_held.Peek(), false))) _held.Dequeue();
            _getStream = stream;
            return stream;
        }
    }

    public void CloseGetStream(MessageStream stream)
    {
        Touch();
        lock (_gate)
        {
            if (_getStream == stream) _getStream = null;
        }
        stream.Messages.Writer.TryComplete();
    }

    /// <summary>Writes one message as one line to the server's stdin. False when the server is gone.</summary>
    public async ValueTask<bool> SendAsync(ReadOnlyMemory<byte> json)
    {
        Touch();
        // JSON allows raw line breaks only as whitespace between tokens, so blanking them keeps the message and makes it one line.
        byte[] line = new byte[json.Length + 1];
        json.Span.CopyTo(line);
        for (int i = 0; i < json.Length; i++)
        {
            if (line[i] is (byte)'\n' or (byte)'\r') line[i] = (byte)' ';
        }
        line[^1] = (byte)'\n';
        await _stdinLock.WaitAsync().ConfigureAwait(false);
        try
        {
            if (EndReason is not null) return false;
            await _stdin.WriteAsync(line).ConfigureAwait(false);
            await _stdin.FlushAsync().ConfigureAwait(false);
            return true;
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
        {
            return false;
        }
        finally
        {
            _stdinLock.Release();
        }
    }

    private async Task ReadStdoutAsync()
    {
        PipeReader reader = PipeReader.Create(_process.StandardOutput.BaseStream, new StreamPipeReaderOptions(bufferSize: 64 * 1024));
        string reason;
        try
        {
            while (true)
            {
                ReadResult result = await reader.ReadAsync().ConfigureAwait(false);
                ReadOnlySequence<byte> buffer = result.Buffer;
                string? oversized = null;
                while (buffer.PositionOf((byte)'\n') is { } end)
                {
                    ReadOnlySequence<byte> line = buffer.Slice(0, end);
                    buffer = buffer.Slice(buffer.GetPosition(1, end));
                    if (line.Length > _options.MaxMessageBytes)
                    {
                        oversized = $"the server wrote a message of {line.Length} bytes, over maxMessageBytes ({_options.MaxMessageBytes})";
                        break;
                    }
                    await RouteAsync(line).ConfigureAwait(false);
                }
                if (oversized is null && buffer.Length > _options.MaxMessageBytes)
                    oversized = $"the server wrote a message longer than maxMessageBytes ({_options.MaxMessageBytes}) without ending it";
                if (oversized is not null)
                {
                    reader.AdvanceTo(buffer.End);
                    reason = oversized;
                    break;
                }
                reader.AdvanceTo(buffer.Start, buffer.End);
                if (result.IsCompleted)
                {
                    reason = await ExitDescriptionAsync().ConfigureAwait(false);
                    break;
                }
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
        {
            reason = await ExitDescriptionAsync().ConfigureAwait(false);
        }
        await reader.CompleteAsync().ConfigureAwait(false);
        End(reason);
    }

    private async Task<string> ExitDescriptionAsync()
    {
        using var wait = new CancellationTokenSource(1_000);
        try
        {
            await _process.WaitForExitAsync(wait.Token).ConfigureAwait(false);
            return $"the server process exited (code {_process.ExitCode})";
        }
        catch (OperationCanceledException)
        {
            return "the server closed its stdout";
        }
        catch (InvalidOperationException)
        {
            return "the server process is gone";
        }
    }

    private async ValueTask RouteAsync(ReadOnlySequence<byte> line)
    {
        if (line.Length > 0 && line.Slice(line.Length - 1).FirstSpan[0] == (byte)'\r') line = line.Slice(0, line.Length - 1);
        if (line.Length == 0) return;
        byte[] json = line.ToArray();
        // A bare CR is only whitespace in JSON, but would split the message in an event stream.
        for (int i = 0; i < json.Length; i++)
        {
            if (json[i] == (byte)'\r') json[i] = (byte)' ';
        }
        JsonRpcShape shape = JsonRpcShape.Read(json);
        if (shape.Kind is JsonRpcKind.Invalid or JsonRpcKind.Batch)
        {
            // MCP reserves stdout for messages; a stray line is the server's bug, not something to forward.
            if (_events.Count(StdioEvent.InvalidLine, out int held))
                Log.Warn($"{LogPrefix}: ignored a stdout line that is not one JSON-RPC message ({json.Length} bytes)" + LogRateLimit.Held(held));
            return;
        }
        Touch();
        MessageStream? target;
        bool final = shape.Kind == JsonRpcKind.Response;
        lock (_gate)
        {
            if (final)
            {
                target = null;
                foreach (MessageStream c in _calls)
                {
                    if (c.IdKey == shape.IdKey) { target = c; break; }
                }
                if (target is not null) _calls.Remove(target);
            }
            else
            {
                target = _calls.Count > 0 ? _calls[0] : _getStream;
                if (target is null)
                {
                    if (_held.Count == MaxHeldMessages)
                    {
                        _held.Dequeue();
                        if (_events.Count(StdioEvent.HeldDropped, out int held))
                            Log.Warn($"{LogPrefix}: no GET stream open: dropped the oldest of {MaxHeldMessages} held server messages" + LogRateLimit.Held(held));
                    }
                    _held.Enqueue(json);
                    return;
                }
            }
        }
        if (target is null)
        {
            Log.Debug($"{LogPrefix}: dropped a response to a request no client waits for (id {shape.IdKey})");
            return;
        }
        try
        {
            await target.Messages.Writer.WriteAsync(new BridgeMessage(json, final)).ConfigureAwait(false);
            if (final) target.Messages.Writer.TryComplete();
        }
        catch (ChannelClosedException)
        {
            // Its HTTP side went away (the client disconnected); nobody is left to tell.
        }
    }

    /// <summary>Ends the session once: waiting calls and the GET stream learn why, and the process is stopped.</summary>
    public void End(string reason)
    {
        MessageStream[] calls;
        MessageStream? stream;
        lock (_gate)
        {
            if (_endReason is not null) return;
            Volatile.Write(ref _endReason, reason);
            calls = [.. _calls];
            _calls.Clear();
            stream = _getStream;
            _getStream = null;
            _held.Clear();
        }
        if (_events.Count(StdioEvent.SessionEnded, out int held)) Log.Info($"{LogPrefix}: session ended: {reason}" + LogRateLimit.Held(held));
        foreach (MessageStream c in calls) c.Messages.Writer.TryComplete();
        stream?.Messages.Writer.TryComplete();
        _onEnded(this);
        _ = StopProcessAsync();
    }

    /// <summary>stdin closed first (the MCP stdio way to ask a server to exit), then SIGTERM, then SIGKILL, each after half of stopGraceMs.</summary>
    private async Task StopProcessAsync()
    {
        try
        {
            await _stdinLock.WaitAsync().ConfigureAwait(false);
            try { _stdin.Dispose(); }
            catch (Exception e) when (e is IOException or ObjectDisposedException) { }
            finally { _stdinLock.Release(); }
            int half = _options.StopGraceMs / 2;
            if (!await WaitForExitAsync(half).ConfigureAwait(false))
            {
                ProcessSignals.Terminate(_process.Id);
                if (!await WaitForExitAsync(_options.StopGraceMs - half).ConfigureAwait(false))
                {
                    if (_events.Count(StdioEvent.Killed, out int held))
                        Log.Warn($"{LogPrefix}: still running {_options.StopGraceMs} ms after stdin closed and SIGTERM: killing it" + LogRateLimit.Held(held));
                    try { _process.Kill(entireProcessTree: true); }
                    catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception) { }
                    await WaitForExitAsync(5_000).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            _process.Dispose();
            _stopped.TrySetResult();
        }
    }

    private async Task<bool> WaitForExitAsync(int milliseconds)
    {
        using var wait = new CancellationTokenSource(milliseconds);
        try
        {
            await _process.WaitForExitAsync(wait.Token).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            return true;
        }
    }
}
