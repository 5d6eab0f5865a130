using System.IO.Pipelines;

namespace FastMcp.Gateway.Transport;

/// <summary>
/// A connected peer as a duplex pipe: plain (<see cref="SocketPipe"/>) or TLS (<see cref="TlsPipe"/>). The kind is
/// chosen once when the connection is made; the connection code caches <see cref="Input"/> and <see cref="Output"/>,
/// so a read or write on either kind goes straight to its pipe with no check of which kind it is.
/// </summary>
internal abstract class ConnectionTransport : IDuplexPipe, IDisposable
{
    public abstract PipeReader Input { get; }
    public abstract PipeWriter Output { get; }

    /// <summary>Bytes the peer's side has accepted so far (after TLS: plaintext bytes handed to the encryption).</summary>
    public abstract long BytesSent { get; }

    /// <summary>
    /// The epoll loop that watches this connection's socket (<see cref="Epoll.ReadinessEngine.Index"/>), or -1 on the
    /// runtime's socket engine. Its reads complete on that loop's thread.
    /// </summary>
    public abstract int Loop { get; }

    /// <summary>Closes the connection at once; both loops end and complete their pipe ends.</summary>
    public abstract void Dispose();
}
