using FastMcp.Gateway.Federation;
using FastMcp.Gateway.Hosting;
using FastMcp.Gateway.Upstream;
using FastMcp.Http;

namespace FastMcp.Gateway.Sessions;

/// <summary>A session to end at an upstream: its id there, and the protocol version it negotiated when known.</summary>
internal readonly record struct PendingSessionEnd(string SessionId, string? ProtocolVersion);

/// <summary>
/// Ends, at one upstream, the sessions the gateway forgot past a bound: a DELETE naming each, sent by one background
/// worker over the upstream's own pool with its credential (Federation/MemberCall.cs, as the gateway's own messages to
/// members go), one after another. Its own queue and worker per upstream, so that a dead or slow upstream delays and
/// drops only its own ends. A full queue gives up its oldest pending end (counted dropped): the newest forgotten
/// sessions are the likeliest still alive at the upstream.
/// </summary>
internal sealed class UpstreamSessionEnds
{
    /// <summary>Ends waiting per upstream; 16 bytes each (two references), made up front.</summary>
    public const int QueueCapacity = 1024;

    private readonly UpstreamRoute _upstream;
    private readonly HttpLimits _limits;
    private readonly byte[] _publicScheme;
    private readonly CancellationToken _stopping;
    private readonly DropOldestQueue<PendingSessionEnd> _queue = new(QueueCapacity);
    // At most one release outstanding: set by the producer that releases, cleared by the worker before it drains.
    private readonly SemaphoreSlim _signal = new(0, 1);
    private int _signalled;
    private readonly long[] _results = new long[SessionEndResults.Count];
    private readonly ThrottledWarning _failureWarning = new(60_000);

    public UpstreamSessionEnds(UpstreamRoute upstream, HttpLimits limits, byte[] publicScheme, CancellationToken stopping)
    {
        _upstream = upstream;
        _limits = limits;
        _publicScheme = publicScheme;
        _stopping = stopping;
        Worker = DrainAsync();
    }

    public string Upstream => _upstream.Name;

    /// <summary>Runs until the gateway stops; ends still queued then are not sent.</summary>
    public Task Worker { get; }

    public long Count(SessionEndResult result) => Volatile.Read(ref _results[(int)result]);

    /// <summary>Queues the end of <paramref name="end"/>'s session and returns at once; allocates nothing.</summary>
    public void Enqueue(PendingSessionEnd end)
    {
        if (_queue.Enqueue(end, out _)) Interlocked.Increment(ref _results[(int)SessionEndResult.Dropped]);
        if (Interlocked.Exchange(ref _signalled, 1) == 0) _signal.Release();
    }

    private async Task DrainAsync()
    {
        // Off the caller's thread from the first await on: the constructor returns at once.
        await Task.Yield();
        while (!_stopping.IsCancellationRequested)
        {
            try
            {
                await _signal.WaitAsync(_stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            Volatile.Write(ref _signalled, 0);
            while (!_stopping.IsCancellationRequested && _queue.TryDequeue(out PendingSessionEnd end)) await EndAsync(end).ConfigureAwait(false);
        }
    }

    private async Task EndAsync(PendingSessionEnd end)
    {
        MemberAnswer answer;
        try
        {
            // No X-Forwarded-For: no client asked for this request, the gateway sends it on its own account.
            // No caller either: a per-caller credential (tokenExchange) gives no line, and the DELETE is not sent (never with
            // another caller's token); the session then stays open there until the upstream's own idle timeout.
            answer = await MemberCall.SendAsync(_upstream, _limits, "DELETE", null, end.SessionId, end.ProtocolVersion, default, _publicScheme, default, _stopping)
                .ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            return;
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or ObjectDisposedException or InvalidOperationException or OperationCanceledException)
        {
            answer = new MemberAnswer(Forwarding.ForwardingError.UpstreamClosed, 0, null, []);
        }
        SessionEndResult result = SessionEndResults.Of(answer.Status);
        Interlocked.Increment(ref _results[(int)result]);
        if (result != SessionEndResult.Failed || !_failureWarning.TryTake(out int skipped)) return;
        // Never the session id: it is a bearer for the session.
        string why = answer.Status != 0 ? $"it answered HTTP {answer.Status}" : System.Text.Encoding.UTF8.GetString(Forwarding.ForwardingErrors.Message(answer.Error));
        Log.Warn($"upstream '{_upstream.Name}': a session the gateway forgot past a sessions bound could not be ended there: {why}; it stays open there " +
            "until the upstream's own idle timeout" + Hosting.LogRateLimit.Held(skipped));
    }
}
