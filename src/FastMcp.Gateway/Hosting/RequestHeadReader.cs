using System.IO.Pipelines;
using FastMcp.Http;

namespace FastMcp.Gateway.Hosting;

/// <summary>
/// Reads the next request head of a connection of the gateway's small local servers (admin, demo, stdio bridge):
/// framed however the bytes arrive, parsed into <paramref name="head"/>, and consumed from the pipe. The proxy's
/// own connection loop does more (timers, stages) and reads heads itself.
/// </summary>
internal static class RequestHeadReader
{
    /// <summary>
    /// Null: the peer closed before a whole head; else why the head is refused (None: parsed; HeadersTooLarge: no end
    /// within limits.MaxHeadBytes, the bytes read so far dropped, for the caller to answer 431 and close).
    /// With <paramref name="deadline"/>, its token bounds the reads and is re-armed to <paramref name="headTime"/> once the
    /// head's first bytes arrived (cancelled: OperationCanceledException).
    /// </summary>
    public static async ValueTask<HttpRejectReason?> ReadAsync(PipeReader input, HttpRequestHead head, HttpLimits limits,
        CancellationTokenSource? deadline = null, TimeSpan headTime = default)
    {
        var framer = new HeadFramer();
        ReadResult result;
        long headLength;
        bool started = false;
        while (true)
        {
            result = await input.ReadAsync(deadline?.Token ?? default).ConfigureAwait(false);
            if (!started && !result.Buffer.IsEmpty)
            {
                started = true;
                deadline?.CancelAfter(headTime);
            }
            headLength = framer.TryFindEnd(result.Buffer, limits.MaxHeadBytes);
            if (headLength != 0 || result.IsCompleted) break;
            input.AdvanceTo(result.Buffer.Start, result.Buffer.End);
        }
        if (headLength < 0)
        {
            input.AdvanceTo(result.Buffer.End);
            return HttpRejectReason.HeadersTooLarge;
        }
        if (headLength == 0)
        {
            input.AdvanceTo(result.Buffer.Start, result.Buffer.End);
            return null;
        }
        HttpRejectReason reason = head.Parse(result.Buffer.Slice(0, headLength));
        input.AdvanceTo(result.Buffer.GetPosition(headLength));
        return reason;
    }
}
