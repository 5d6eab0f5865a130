using System.Buffers;
using System.IO.Pipelines;

namespace FastMcp.Gateway.Transport;

/// <summary>
/// Pipe options per role, stated where the pipes are made. Synchronization contexts are off
/// (a server has none) and completions run on the thread pool (through pooled work items).
/// </summary>
internal static class PipeSettings
{
    private const int MinimumSegment = 8 * 1024;

    /// <summary>
    /// Receive side of a client or upstream socket. It must be able to hold one whole message that
    /// the gateway inspects (a request body, a JSON response or one SSE event) without the socket
    /// reader pausing, or the connection would wait for itself.
    /// </summary>
    public static PipeOptions Receive(long largestHeldMessage)
    {
        long pause = Math.Max(1024 * 1024, largestHeldMessage + 128 * 1024);
        return new PipeOptions(
            pool: MemoryPool<byte>.Shared,
            readerScheduler: PooledThreadPoolScheduler.Instance,
            writerScheduler: PooledThreadPoolScheduler.Instance,
            pauseWriterThreshold: pause,
            resumeWriterThreshold: pause / 2,
            minimumSegmentSize: MinimumSegment,
            useSynchronizationContext: false);
    }

    /// <summary>Send side: back-pressure on a slow reader at 1 MiB.</summary>
    public static readonly PipeOptions Send = new(
        pool: MemoryPool<byte>.Shared,
        readerScheduler: PooledThreadPoolScheduler.Instance,
        writerScheduler: PooledThreadPoolScheduler.Instance,
        pauseWriterThreshold: 1024 * 1024,
        resumeWriterThreshold: 512 * 1024,
        minimumSegmentSize: MinimumSegment,
        useSynchronizationContext: false);
}
