using System.Buffers;
using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Threading.Channels;
using FastMcp.Gateway.Buffers;
using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Forwarding;
using FastMcp.Gateway.Hosting;
using FastMcp.Gateway.Transport;
using FastMcp.Http;
using HttpMethod = FastMcp.Http.HttpMethod;

namespace FastMcp.Gateway.Upstream.Stdio;

/// <summary>
/// Makes a stdio MCP server an ordinary Streamable HTTP upstream: a loopback HTTP endpoint the
/// gateway forwards to (so identity, policy, masking and audit run as for any upstream), which runs
/// one server process per MCP session and moves messages between HTTP and the process's stdin and
/// stdout. It answers only requests that carry the gateway's per-start <see cref="BridgeSecret"/>.
/// </summary>
internal sealed class StdioBridge : IAsyncDisposable
{
    private const string SessionHeader = "Mcp-Session-Id";
    private readonly StdioUpstreamOptions _options;
    private readonly string _name;
    private readonly IReadOnlyCollection<string> _withheldVariables;
    private readonly BridgeSecret _secret = new();
    private readonly HttpLimits _limits;
    private readonly SocketListener _listener;
    private readonly ConcurrentDictionary<string, StdioSession> _sessions = new();
    private readonly object _admission = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _acceptLoop;
    private readonly Task _reaper;

    /// <param name="name">The upstream's name in log lines ("upstream").</param>
    /// <param name="withheldVariables">Environment variables never passed to the server (they hold the gateway's secrets).</param>
    public StdioBridge(string name, StdioUpstreamOptions options, IReadOnlyCollection<string> withheldVariables)
    {
        _name = name;
        _options = options;
        _withheldVariables = withheldVariables;
        _limits = new HttpLimits { MaxRequestBodyBytes = options.MaxMessageBytes };
        _listener = SocketListener.Bind(new IPEndPoint(IPAddress.Loopback, 0), PipeSettings.Receive(_limits.MaxRequestBodyBytes));
        _acceptLoop = _listener.AcceptLoopAsync(ServeAsync);
        _reaper = ReapIdleSessionsAsync();
    }

    /// <summary>The URL the gateway's upstream pool targets.</summary>
    public string Url => $"http://{ListenAddress.ToUrlAuthority(_listener.LocalEndPoint)}/mcp";

    public IPEndPoint LocalEndPoint => _listener.LocalEndPoint;

    /// <summary>Header lines the gateway adds to each request to the bridge.</summary>
    public byte[] SecretHeaderLines => _secret.HeaderLines;

    public int SessionCount => _sessions.Count;

    /// <summary>Whether its servers run as another user (stdio.runAs).</summary>
    public bool RunsAs => _options.RunAs is not null;

    /// <summary>The gateway's files its servers' user could read or change, as the start-up check found (SecretIsolationCheck).</summary>
    public int ExposedSecretFiles { get; init; }

    /// <summary>What its servers and callers caused, counted (fastmcp_stdio_events_total) and logged at a bounded rate.</summary>
    public StdioEventLog Events { get; } = new();

    private async Task ServeAsync(ConnectionTransport connection, IPEndPoint remote)
    {
        PipeReader input = connection.Input;
        PipeWriter output = connection.Output;
        var head = new HttpRequestHead(_limits);
        using var body = new PooledBufferWriter();
        try
        {
            while (!_stopping.IsCancellationRequested)
            {
                if (await Hosting.RequestHeadReader.ReadAsync(input, head, _limits).ConfigureAwait(false) is not { } reason) return;
                if (reason != HttpRejectReason.None)
                {
                    BridgeResponses.Error(output, reason.StatusCode(), null, -32600, reason.Describe(), close: true);
                    await output.FlushAsync().ConfigureAwait(false);
                    return;
                }
                if (!head.Headers.TryGet(BridgeSecret.HeaderName, out ReadOnlySpan<byte> presented) || !_secret.Matches(presented))
                {
                    // Not the gateway: nothing reaches the server without passing inspection first.
                    if (Events.Count(StdioEvent.BridgeRefused, out int held))
                        Log.Warn($"{_name}: refused a request to the stdio bridge from {remote} without the gateway's secret" + LogRateLimit.Held(held));
                    BridgeResponses.Error(output, 403, null, -32600, "forbidden: this endpoint serves only the FastMcp gateway", close: true);
                    await output.FlushAsync().ConfigureAwait(false);
                    return;
                }
                body.Clear();
                BodyReadResult read = await BodyReader.ReadWholeAsync(input, head.Framing, head.ContentLength, body, _limits.MaxRequestBodyBytes, _limits,
                    CancellationToken.None).ConfigureAwait(false);
                if (read == BodyReadResult.TooLarge)
                {
                    BridgeResponses.Error(output, 413, null, -32600, $"message over the stdio upstream's maxMessageBytes ({_options.MaxMessageBytes})", close: true);
                    await output.FlushAsync().ConfigureAwait(false);
                    return;
                }
                if (read != BodyReadResult.Complete) return;
                bool keepOpen = await HandleAsync(head, body.WrittenMemory, input, output).ConfigureAwait(false);
                if ((await output.FlushAsync().ConfigureAwait(false)).IsCompleted || !keepOpen || head.ConnectionClose) return;
            }
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or InvalidOperationException or OperationCanceledException)
        {
        }
        finally
        {
            try { input.Complete(); } catch (InvalidOperationException) { }
            try { output.Complete(); } catch (InvalidOperationException) { }
            connection.Dispose();
        }
    }

    /// <summary>Answers one request; false when the connection must close after it.</summary>
    private async ValueTask<bool> HandleAsync(HttpRequestHead head, ReadOnlyMemory<byte> body, PipeReader input, PipeWriter output)
    {
        ReadOnlySpan<byte> sessionId = head.Headers.Get(KnownHeader.McpSessionId);
        StdioSession? session = null;
        if (!sessionId.IsEmpty && !_sessions.TryGetValue(System.Text.Encoding.ASCII.GetString(sessionId), out session))
        {
            BridgeResponses.Error(output, 404, null, -32001, "unknown MCP session (it ended, or never existed): initialize a new one", false);
            return true;
        }
        switch (head.Method)
        {
            case HttpMethod.Post:
                return await PostAsync(session, body, output).ConfigureAwait(false);
            case HttpMethod.Get:
                if (session is null)
                {
                    BridgeResponses.Error(output, 400, null, -32600, "GET needs the Mcp-Session-Id of an initialized session", false);
                    return true;
                }
                await StreamAsync(session, input, output).ConfigureAwait(false);
                return false;
            case HttpMethod.Delete:
                if (session is null)
                {
                    BridgeResponses.Error(output, 400, null, -32600, "DELETE needs the Mcp-Session-Id of the session to end", false);
                    return true;
                }
                session.End("ended by the client (DELETE)");
                await session.Stopped.ConfigureAwait(false);
                BridgeResponses.Empty(output, 200, false);
                return true;
            default:
                BridgeResponses.Error(output, 405, null, -32600, "method not allowed", false, "Allow: GET, POST, DELETE\r\n");
                return true;
        }
    }

    private async ValueTask<bool> PostAsync(StdioSession? session, ReadOnlyMemory<byte> body, PipeWriter output)
    {
        JsonRpcShape shape = JsonRpcShape.Read(body.Span);
        switch (shape.Kind)
        {
            case JsonRpcKind.Invalid:
                BridgeResponses.Error(output, 400, null, -32700, "the body is not one JSON-RPC message", false);
                return true;
            case JsonRpcKind.Batch:
                BridgeResponses.Error(output, 400, null, -32600, "JSON-RPC batches are not supported: send one message per request", false);
                return true;
        }
        string extraHeaders = "";
        if (session is null)
        {
            if (shape is not { Kind: JsonRpcKind.Request, Method: "initialize" })
            {
                BridgeResponses.Error(output, 400, shape.IdKey, -32600, "Mcp-Session-Id is required: initialize a session first", false);
                return true;
            }
            (session, string? refusal, int status) = OpenSession();
            if (session is null)
            {
                BridgeResponses.Error(output, status, shape.IdKey, -32000, refusal!, false);
                return true;
            }
            extraHeaders = $"{SessionHeader}: {session.Id}\r\n";
        }
        if (shape.Kind != JsonRpcKind.Request)
        {
            // Notifications, and the client's answers to the server's own requests: written through, nothing to wait for.
            if (!await session.SendAsync(body).ConfigureAwait(false))
            {
                BridgeResponses.Error(output, 502, shape.IdKey, -32000, SessionGone(session), false);
                return true;
            }
            BridgeResponses.Empty(output, 202, false);
            return true;
        }
        MessageStream? call = session.BeginCall(shape.IdKey!);
        if (call is null)
        {
            if (session.EndReason is not null) BridgeResponses.Error(output, 404, shape.IdKey, -32001, SessionGone(session), false);
            else BridgeResponses.Error(output, 409, shape.IdKey, -32600, "a request with this id is already in flight in this session", false);
            return true;
        }
        try
        {
            if (!await session.SendAsync(body).ConfigureAwait(false))
            {
                BridgeResponses.Error(output, 502, shape.IdKey, -32000, SessionGone(session), false);
                return true;
            }
            return await AnswerAsync(session, call, output, extraHeaders).ConfigureAwait(false);
        }
        finally
        {
            session.EndCall(call);
            // An initialize the server did not answer leaves no session behind.
            if (extraHeaders.Length > 0 && session.EndReason is not null) _sessions.TryRemove(session.Id, out _);
        }
    }

    /// <summary>
    /// The answer alone as application/json; when the server first sends other messages (progress,
    /// sampling or elicitation requests), an event stream carrying them and then the answer.
    /// </summary>
    private async ValueTask<bool> AnswerAsync(StdioSession session, MessageStream call, PipeWriter output, string extraHeaders)
    {
        ChannelReader<BridgeMessage> messages = call.Messages.Reader;
        bool streaming = false;
        while (await messages.WaitToReadAsync().ConfigureAwait(false))
        {
            while (messages.TryRead(out BridgeMessage m))
            {
                if (!streaming && m.Final)
                {
                    BridgeResponses.Json(output, 200, m.Json, false, extraHeaders);
                    return true;
                }
                if (!streaming)
                {
                    BridgeResponses.EventStreamHead(output, extraHeaders);
                    streaming = true;
                }
                BridgeResponses.Event(output, m.Json);
                if (m.Final)
                {
                    BridgeResponses.EndOfStream(output);
                    return true;
                }
                if ((await output.FlushAsync().ConfigureAwait(false)).IsCompleted) return false;
            }
        }
        // The session ended before the server answered.
        byte[] error = BridgeResponses.ErrorBody(call.IdKey, -32000, SessionGone(session));
        if (!streaming)
        {
            BridgeResponses.Json(output, 502, error, false, extraHeaders);
            return true;
        }
        BridgeResponses.Event(output, error);
        BridgeResponses.EndOfStream(output);
        return true;
    }

    /// <summary>The session's GET stream: server messages that belong to no call, until the session or the connection ends.</summary>
    private async ValueTask StreamAsync(StdioSession session, PipeReader input, PipeWriter output)
    {
        MessageStream? stream = session.OpenGetStream();
        if (stream is null)
        {
            BridgeResponses.Error(output, 409, null, -32600, "this session already has a GET stream open", true);
            return;
        }
        // The gateway closing its side ends the stream (nothing more is read from this connection).
        using var closed = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
        _ = WatchForCloseAsync(input, closed);
        try
        {
            BridgeResponses.EventStreamHead(output);
            if ((await output.FlushAsync().ConfigureAwait(false)).IsCompleted) return;
            ChannelReader<BridgeMessage> messages = stream.Messages.Reader;
            while (await messages.WaitToReadAsync(closed.Token).ConfigureAwait(false))
            {
                while (messages.TryRead(out BridgeMessage m)) BridgeResponses.Event(output, m.Json);
                if ((await output.FlushAsync().ConfigureAwait(false)).IsCompleted) return;
            }
            BridgeResponses.EndOfStream(output);
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            session.CloseGetStream(stream);
        }
    }

    private static async Task WatchForCloseAsync(PipeReader input, CancellationTokenSource closed)
    {
        try
        {
            while (true)
            {
                ReadResult r = await input.ReadAsync(closed.Token).ConfigureAwait(false);
                input.AdvanceTo(r.Buffer.End);
                if (r.IsCompleted || r.IsCanceled) break;
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or SocketException or InvalidOperationException or ObjectDisposedException)
        {
        }
        try { closed.Cancel(); } catch (ObjectDisposedException) { }
    }

    private (StdioSession? Session, string? Refusal, int Status) OpenSession()
    {
        lock (_admission)
        {
            if (_stopping.IsCancellationRequested) return (null, "the gateway is stopping", 503);
            if (_sessions.Count >= _options.MaxSessions)
                return (null, $"the stdio upstream runs its limit of {_options.MaxSessions} sessions (maxSessions): try again later", 503);
            string id = Convert.ToHexString(RandomNumberGenerator.GetBytes(16)).ToLowerInvariant();
            StdioSession session;
            try
            {
                session = StdioSession.Start(id, _name, _options, _withheldVariables, Events, s => _sessions.TryRemove(s.Id, out _));
            }
            catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException or IOException)
            {
                // Each new session tries again: one line per interval however many clients initialize meanwhile.
                if (Events.Count(StdioEvent.StartFailed, out int held)) Log.Error($"{_name}: cannot start {_options.Describe()}: {FastMcp.Http.PlainError.Describe(e)}" + LogRateLimit.Held(held));
                return (null, $"the stdio upstream could not be started ({_options.Command})", 502);
            }
            _sessions[id] = session;
            return (session, null, 0);
        }
    }

    private static string SessionGone(StdioSession session) =>
        $"the stdio upstream session ended before answering: {session.EndReason ?? "the server is gone"}";

    private async Task ReapIdleSessionsAsync()
    {
        var period = TimeSpan.FromMilliseconds(Math.Clamp(_options.SessionIdleMs / 4, 250, 30_000));
        using var timer = new PeriodicTimer(period);
        try
        {
            while (await timer.WaitForNextTickAsync(_stopping.Token).ConfigureAwait(false))
            {
                long now = Environment.TickCount64;
                foreach (StdioSession s in _sessions.Values)
                {
                    if (s.IsIdle(now)) s.End($"idle for sessionIdleMs ({_options.SessionIdleMs} ms)");
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Stops taking requests and stops every server process (each within stopGraceMs).</summary>
    public async Task StopAsync()
    {
        if (_stopping.IsCancellationRequested) return;
        lock (_admission) _stopping.Cancel();
        _listener.Stop();
        var stopped = new List<Task>();
        foreach (StdioSession s in _sessions.Values)
        {
            s.End("the gateway is stopping");
            stopped.Add(s.Stopped);
        }
        if (stopped.Count > 0) Log.Info($"{_name}: stopping {stopped.Count} stdio server process(es)");
        await Task.WhenAll(stopped).ConfigureAwait(false);
        await _reaper.ConfigureAwait(false);
        _ = _acceptLoop;
    }

    public async ValueTask DisposeAsync() => await StopAsync().ConfigureAwait(false);
}
