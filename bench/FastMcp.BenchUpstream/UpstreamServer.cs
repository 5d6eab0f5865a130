using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Pipelines.Sockets.Unofficial;

namespace FastMcp.BenchUpstream;

/// <summary>Accepts connections on one endpoint and serves each on its own task.</summary>
internal sealed class UpstreamServer : IDisposable
{
    // Receive: requests are small, so small segments; send: room for a burst of streamed events.
    private static readonly PipeOptions ReceiveOptions = new(
        pool: null, readerScheduler: PipeScheduler.ThreadPool, writerScheduler: PipeScheduler.Inline,
        pauseWriterThreshold: 1024 * 1024, resumeWriterThreshold: 512 * 1024,
        minimumSegmentSize: 8192, useSynchronizationContext: false);

    private static readonly PipeOptions SendOptions = new(
        pool: null, readerScheduler: PipeScheduler.Inline, writerScheduler: PipeScheduler.ThreadPool,
        pauseWriterThreshold: 512 * 1024, resumeWriterThreshold: 256 * 1024,
        minimumSegmentSize: 8192, useSynchronizationContext: false);

    private readonly Socket _listener;
    private readonly CannedResponses _canned = new();
    private readonly byte[] _path;

    public UpstreamServer(IPEndPoint endPoint, string path)
    {
        _path = System.Text.Encoding.ASCII.GetBytes(path);
        // Explicit address family: a default Stream socket is dual-mode IPv6.
        _listener = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        _listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        _listener.Bind(endPoint);
        _listener.Listen(1024);
    }

    public IPEndPoint LocalEndPoint => (IPEndPoint)_listener.LocalEndPoint!;

    public async Task AcceptLoopAsync(CancellationToken cancellation)
    {
        while (!cancellation.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptAsync(cancellation).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            catch (SocketException) when (cancellation.IsCancellationRequested)
            {
                break;
            }

            socket.NoDelay = true;
            var transport = SocketConnection.Create(socket, SendOptions, ReceiveOptions, SocketConnectionOptions.None);
            var connection = new UpstreamConnection(transport, _canned, _path);
            _ = Task.Run(async () =>
            {
                try
                {
                    await connection.RunAsync().ConfigureAwait(false);
                }
                finally
                {
                    transport.Dispose();
                }
            }, CancellationToken.None);
        }
    }

    public void Dispose() => _listener.Dispose();
}
