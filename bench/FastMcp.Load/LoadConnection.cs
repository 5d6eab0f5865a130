using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Pipelines.Sockets.Unofficial;

namespace FastMcp.Load;

/// <summary>
/// One keep-alive MCP client connection: connect, initialize (keeping Mcp-Session-Id), then send
/// the scenario's calls one at a time until the run's stop time, recording each answer.
/// </summary>
internal sealed class LoadConnection
{
    private static readonly PipeOptions ReceiveOptions = new(
        pool: null, readerScheduler: PipeScheduler.ThreadPool, writerScheduler: PipeScheduler.Inline,
        pauseWriterThreshold: 1024 * 1024, resumeWriterThreshold: 512 * 1024,
        minimumSegmentSize: 8192, useSynchronizationContext: false);

    private static readonly PipeOptions SendOptions = new(
        pool: null, readerScheduler: PipeScheduler.Inline, writerScheduler: PipeScheduler.ThreadPool,
        pauseWriterThreshold: 256 * 1024, resumeWriterThreshold: 128 * 1024,
        minimumSegmentSize: 4096, useSynchronizationContext: false);

    private static ReadOnlySpan<byte> CardSpaced => "4111 1111 1111 1111"u8;
    private static ReadOnlySpan<byte> CardPlain => "4111111111111111"u8;

    private readonly int _index;
    private readonly LoadOptions _options;
    private readonly HttpResponseReader _response = new();
    private readonly SseEventScanner _sse = new();
    private IDuplexPipe? _transport;
    private McpRequestTemplate[] _calls = [];
    private long _sequence;

    public LoadConnection(int index, LoadOptions options)
    {
        _index = index;
        _options = options;
    }

    public ConnectionStats Stats { get; } = new();

    /// <summary>Connects and initializes; throws when the target does not answer as an MCP server.</summary>
    public async Task OpenAsync(CancellationToken cancellation)
    {
        Close();
        var socket = new Socket(_options.Target.EndPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(_options.Target.EndPoint, cancellation).ConfigureAwait(false);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        _transport = _options.Target.IsHttps
            ? await TlsConnection.OpenAsync(socket, _options, cancellation).ConfigureAwait(false)
            : SocketConnection.Create(socket, SendOptions, ReceiveOptions, SocketConnectionOptions.None);

        var initialize = McpRequestTemplate.Create(_options.Target, null, _index, McpBodies.Initialize);
        initialize.SetSequence(++_sequence);
        _response.CaptureSessionId = true;
        var outcome = await ExchangeAsync(initialize, CallKind.Echo, cancellation).ConfigureAwait(false);
        _response.CaptureSessionId = false;
        if (outcome != Outcome.Ok)
        {
            throw new InvalidDataException($"initialize failed: HTTP {_response.StatusCode}, outcome {outcome}");
        }

        var sessionId = _response.SessionId;
        var initialized = McpRequestTemplate.Create(_options.Target, sessionId, _index, McpBodies.Initialized);
        await ExchangeAsync(initialized, CallKind.Echo, cancellation).ConfigureAwait(false);
        if (_response.StatusCode is < 200 or >= 300)
        {
            throw new InvalidDataException($"notifications/initialized failed: HTTP {_response.StatusCode}");
        }

        var cycle = _options.Scenario.Cycle;
        _calls = new McpRequestTemplate[cycle.Length];
        for (var i = 0; i < cycle.Length; i++)
        {
            _calls[i] = McpRequestTemplate.Create(_options.Target, sessionId, _index, McpBodies.For(cycle[i]));
        }
    }

    /// <summary>Sends calls until <paramref name="clock"/> says stop, reconnecting after failures.</summary>
    public async Task DriveAsync(RunClock clock, CancellationToken hardStop)
    {
        try
        {
            await DriveLoopAsync(clock, hardStop).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (hardStop.IsCancellationRequested)
        {
            // The run's grace period is over: whatever was in flight is abandoned, not counted.
        }
        finally
        {
            _linked?.Dispose();
            _timeout?.Dispose();
            Close();
        }
    }

    private CancellationTokenSource? _timeout;
    private CancellationTokenSource? _linked;

    private CancellationToken RequestToken(CancellationToken hardStop)
    {
        if (_timeout is null || !_timeout.TryReset())
        {
            // A timed-out source cannot be reused; make fresh ones.
            _linked?.Dispose();
            _timeout?.Dispose();
            _timeout = new CancellationTokenSource();
            _linked = CancellationTokenSource.CreateLinkedTokenSource(hardStop, _timeout.Token);
        }

        _timeout.CancelAfter(TimeSpan.FromSeconds(_options.TimeoutSeconds));
        return _linked!.Token;
    }

    private async Task DriveLoopAsync(RunClock clock, CancellationToken hardStop)
    {
        var frequency = Stopwatch.Frequency;
        // Open loop: this connection's share of the rate, staggered so connections do not fire together.
        var interval = _options.OpenLoop ? (long)(frequency * _options.Connections / _options.Rate) : 0;
        var next = clock.WarmupStart + (interval * _index / _options.Connections);
        var cycle = _options.Scenario.Cycle;
        var position = _index % cycle.Length;

        var previousStart = long.MinValue / 2;
        while (!hardStop.IsCancellationRequested)
        {
            long start;
            var now = Stopwatch.GetTimestamp();
            if (_options.OpenLoop)
            {
                if (next >= clock.MeasureEnd)
                {
                    break;
                }

                var waitMs = (int)((next - now) * 1000 / frequency);
                if (next > now)
                {
                    // Timers tick in whole milliseconds: sleep the whole part and send up to 1 ms early
                    // rather than late, so the offered rate holds. We were idle: measure from the actual send.
                    if (waitMs > 0)
                    {
                        await Task.Delay(waitMs, hardStop).ConfigureAwait(false);
                    }

                    start = Stopwatch.GetTimestamp();
                }
                else
                {
                    // Behind schedule because the target answered late: measure from the time this request
                    // was due (wrk2's coordinated-omission correction), but not earlier than one interval
                    // after the previous send, so our own timer's lateness is never charged to the target.
                    start = Math.Min(now, Math.Max(next, previousStart + interval));
                }

                next += interval;
            }
            else
            {
                if (now >= clock.MeasureEnd)
                {
                    break;
                }

                start = now;
            }

            previousStart = start;
            var slot = position;
            var kind = cycle[slot];
            position = (position + 1) % cycle.Length;
            Outcome outcome;
            try
            {
                if (_transport is null)
                {
                    Stats.Reconnects += clock.InWindow(Stopwatch.GetTimestamp()) ? 1 : 0;
                    await OpenAsync(hardStop).ConfigureAwait(false);
                }

                var call = _calls[slot];
                call.SetSequence(++_sequence);
                outcome = await ExchangeAsync(call, kind, RequestToken(hardStop)).ConfigureAwait(false);
            }
            catch (Exception ex) when (!hardStop.IsCancellationRequested
                && ex is OperationCanceledException or IOException or SocketException or InvalidDataException or ObjectDisposedException)
            {
                if (clock.InWindow(Stopwatch.GetTimestamp()))
                {
                    if (ex is OperationCanceledException)
                    {
                        Stats.Timeouts++;
                    }
                    else
                    {
                        Stats.ConnectErrors++;
                    }

                    Stats.LastError ??= ex.Message;
                }

                Close();
                if (ex is not OperationCanceledException)
                {
                    // Do not spin against a target that refuses connections.
                    await Task.Delay(20, hardStop).ConfigureAwait(false);
                }

                continue;
            }

            if (clock.InWindow(_completedAt))
            {
                Record(outcome, kind, (_completedAt - start) * 1_000_000 / frequency);
            }

            if (_response.CloseAfter)
            {
                Close();
            }
        }
    }

    private enum Outcome : byte { Ok, Denied, HttpError, RpcError, ProtocolError }

    private long _completedAt;
    private Outcome _sseOutcome;
    private bool _sseFinal;
    private long _sseEvents;
    private bool _unmasked;

    private void Record(Outcome outcome, CallKind kind, long microseconds)
    {
        var stats = Stats;
        stats.Latency.RecordValue(Math.Clamp(microseconds, 1, ConnectionStats.HighestMicroseconds));
        stats.Completed++;
        stats.SseNotifications += _sseEvents;
        if (kind == CallKind.Deny)
        {
            stats.DenyCalls++;
        }

        if (kind == CallKind.Cards && _unmasked)
        {
            stats.UnmaskedCards++;
        }

        switch (outcome)
        {
            case Outcome.Ok: stats.Ok++; break;
            case Outcome.Denied: stats.Denied++; break;
            case Outcome.HttpError: stats.HttpErrors++; break;
            case Outcome.RpcError: stats.RpcErrors++; break;
            default: stats.ProtocolErrors++; break;
        }
    }

    /// <summary>Sends one request and reads its whole response; sets <see cref="_completedAt"/>.</summary>
    // Pooled builder: one exchange per request must not allocate a state machine box each time.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<Outcome> ExchangeAsync(McpRequestTemplate request, CallKind kind, CancellationToken cancellation)
    {
        var transport = _transport ?? throw new ObjectDisposedException(nameof(LoadConnection));
        var output = transport.Output;
        var input = transport.Input;
        output.Write(request.Bytes.Span);
        await output.FlushAsync(cancellation).ConfigureAwait(false);

        _response.Reset();
        _sse.Reset();
        _sseFinal = false;
        _sseEvents = 0;
        _sseOutcome = Outcome.ProtocolError;
        _unmasked = false;
        while (true)
        {
            var result = await input.ReadAsync(cancellation).ConfigureAwait(false);
            var now = Stopwatch.GetTimestamp();
            var buffer = result.Buffer;
            var complete = _response.Feed(ref buffer, result.IsCompleted, out var fault);
            if (_response.IsEventStream && !_sseFinal && ScanEvents(request, kind))
            {
                // The final JSON-RPC response event ends the measured latency; the stream's end follows.
                _completedAt = now;
            }

            input.AdvanceTo(buffer.Start, buffer.End);
            if (fault != ResponseFault.None)
            {
                throw new InvalidDataException($"malformed response: {fault}");
            }

            if (complete)
            {
                if (!_response.IsEventStream || !_sseFinal)
                {
                    _completedAt = now;
                }

                break;
            }

            if (result.IsCompleted)
            {
                throw new IOException("the target closed the connection mid-response");
            }
        }

        return Classify(request, kind);
    }

    private bool ScanEvents(McpRequestTemplate request, CallKind kind)
    {
        var body = _response.Body;
        while (_sse.TryReadEvent(body, out var data))
        {
            if (data.IsEmpty)
            {
                // A priming event (an id for resumption, no message).
                continue;
            }

            if (!McpMessageFields.TryRead(data, out var message))
            {
                _sseOutcome = Outcome.ProtocolError;
                _sseFinal = true;
                return true;
            }

            if (!message.IsResponse)
            {
                _sseEvents++;
                continue;
            }

            _sseOutcome = ClassifyMessage(request, kind, message, data);
            _sseFinal = true;
            return true;
        }

        return false;
    }

    private Outcome Classify(McpRequestTemplate request, CallKind kind)
    {
        var status = _response.StatusCode;
        if (status is 401 or 403 && kind == CallKind.Deny)
        {
            return Outcome.Denied;
        }

        if (status is < 200 or >= 300)
        {
            return Outcome.HttpError;
        }

        if (request.IdToken.IsEmpty)
        {
            // A notification: 202 with no body is the whole answer.
            return Outcome.Ok;
        }

        if (_response.IsEventStream)
        {
            return _sseFinal ? _sseOutcome : Outcome.ProtocolError;
        }

        var body = _response.Body;
        return McpMessageFields.TryRead(body, out var message) ? ClassifyMessage(request, kind, message, body) : Outcome.ProtocolError;
    }

    private Outcome ClassifyMessage(McpRequestTemplate request, CallKind kind, in McpMessageFields message, ReadOnlySpan<byte> json)
    {
        if (!message.IsResponse || !message.Id.SequenceEqual(request.IdToken))
        {
            return Outcome.ProtocolError;
        }

        _unmasked = kind == CallKind.Cards && (json.IndexOf(CardSpaced) >= 0 || json.IndexOf(CardPlain) >= 0);
        if (message.HasError || message.ResultIsError)
        {
            return kind == CallKind.Deny ? Outcome.Denied : Outcome.RpcError;
        }

        return Outcome.Ok;
    }

    public void Close()
    {
        var transport = _transport;
        _transport = null;
        (transport as IDisposable)?.Dispose();
    }
}
