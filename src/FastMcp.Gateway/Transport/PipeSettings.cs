using System.Buffers;
using System.IO.Pipelines;

namespace FastMcp.Gateway.Transport;

/// <summary>
/// Pipe options per role, stated where the pipes are made. Plain sockets on our epoll loops use only the send
/// options' pause and resume thresholds (<see cref="SocketSendWriter"/> holds a flush between them) and no Pipe;
/// TLS connections and the runtime-engine fallback use Pipes with these options. Synchronization contexts are off
/// (a server has none). Readers run inline: a receive completes, the loop flushes the pipe and the connection's code
/// continues on that same thread, so a request crosses no thread-pool hop between the socket and the stages. Only
/// a writer held back by back-pressure resumes on the thread pool.
/// </summary>
internal static class PipeSettings
{
    // The pool's smallest array that holds one usual MCP message: each in-flight call holds up to four segments
    // (client receive and send, upstream receive and send), 16 KiB at 4 KiB against 32 KiB at 8 KiB (issue #14
    // target 5). A larger message spans segments; the receive loop reads on while reads fill their buffer.
    private const int MinimumSegment = 4 * 1024;

    /// <summary>
    /// Receive side of a client or upstream socket. It must be able to hold one whole message that
    /// the gateway inspects (a request body, a JSON response or one SSE event) without the socket
    /// reader pausing, or the connection would wait for itself.
    /// </summary>
    public static PipeOptions Receive(long largestHeldMessage)
    {
        return Pausing(Math.Max(1024 * 1024, largestHeldMessage + 128 * 1024));
    }

    /// <summary>
    /// Send side of a client or upstream socket for a bound of <paramref name="maxBufferedBytes"/>
    /// (limits.maxBufferedResponseBytes): a flush waits (back-pressure) once half the bound is unsent, and the
    /// response relay writes at most the other half between two flushes.
    /// </summary>
    public static PipeOptions Send(long maxBufferedBytes)
    {
        return Pausing(SendPauseThreshold(maxBufferedBytes));
    }

    public static long SendPauseThreshold(long maxBufferedBytes) => maxBufferedBytes / 2;

    // Both sides: pooled memory, the reader inline, the writer resumed on the pool, resuming at half the pause.
    private static PipeOptions Pausing(long pause) => new(
        pool: MemoryPool<byte>.Shared,
        readerScheduler: PipeScheduler.Inline,
        writerScheduler: PooledThreadPoolScheduler.Instance,
        pauseWriterThreshold: pause,
        resumeWriterThreshold: pause / 2,
        minimumSegmentSize: MinimumSegment,
        useSynchronizationContext: false);

    /// <summary>Send side for the admin listener and upstream sockets: the default bound (1 MiB).</summary>
    public static readonly PipeOptions DefaultSend = Send(1024 * 1024);

    /// <summary>
    /// Send side of the socket under a TLS connection (the ciphertext): 64 KiB, a flush held past 32 KiB unsent. The
    /// bound of the connection (limits.maxBufferedResponseBytes) applies to the plaintext above it, so what a client
    /// that stops reading pins over TLS is that bound plus at most this much of records waiting for the socket.
    /// </summary>
    public static readonly PipeOptions TlsCiphertextSend = Send(64 * 1024);
}
