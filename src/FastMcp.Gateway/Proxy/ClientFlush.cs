using System.IO.Pipelines;
using FastMcp.Gateway.Forwarding;

namespace FastMcp.Gateway.Proxy;

/// <summary>
/// A flush toward the client that gives up after timeouts.clientWriteMs. The response relay bounds its own
/// flushes; this covers what the gateway writes itself (refusals, batch answers, a held call's keep-alives),
/// so a client that reads nothing cannot hold its connection (and slot) open behind a blocked flush.
/// A flush that completes at once (the usual case: the send pipe is below its pause threshold) costs nothing;
/// only a flush held back by back-pressure arms a timer.
/// </summary>
internal static class ClientFlush
{
    public static ValueTask<FlushResult> WithinAsync(PipeWriter output, int clientWriteMs, Admin.GatewayCounters counters)
    {
        ValueTask<FlushResult> flush = output.FlushAsync();
        return flush.IsCompletedSuccessfully ? flush : SlowAsync(flush, output, clientWriteMs, counters);
    }

    private static async ValueTask<FlushResult> SlowAsync(ValueTask<FlushResult> flush, PipeWriter output, int clientWriteMs, Admin.GatewayCounters counters)
    {
        using var timer = new CancellationTokenSource(clientWriteMs);
        using CancellationTokenRegistration cancel = timer.Token.UnsafeRegister(static state => ((PipeWriter)state!).CancelPendingFlush(), output);
        FlushResult result = await flush.ConfigureAwait(false);
        if (result.IsCanceled && timer.IsCancellationRequested)
        {
            Admin.GatewayCounters.Add(ref counters.ClientWriteTimeouts);
            throw new ClientWriteTimeoutException(-1);
        }
        return result;
    }
}
