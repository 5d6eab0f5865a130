using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using FastMcp.Gateway.Buffers;
using FastMcp.Gateway.Forwarding;
using FastMcp.Gateway.Transport;
using FastMcp.Http;

namespace FastMcp.Gateway.Hosting;

/// <summary>What a local endpoint answers: status, content type, body and extra header lines.</summary>
internal readonly record struct LocalResponse(int Status, string ContentType, byte[] Body, string ExtraHeaders = "");

/// <summary>
/// A small HTTP/1.1 server for the gateway's own endpoints (the admin listener and the built-in
/// demo MCP server), built on the same framing code as the proxy. Not on the proxy's hot path.
/// </summary>
internal sealed class LocalHttpServer : IDisposable
{
    private readonly SocketListener _listener;
    private readonly Func<HttpRequestHead, ReadOnlyMemory<byte>, IPEndPoint, ValueTask<LocalResponse>> _handler;
    private readonly HttpLimits _limits = new() { MaxRequestBodyBytes = 1024 * 1024 };
    private readonly Task _acceptLoop;
    private readonly LocalServerLimits _bounds;
    // Cancelled by Dispose: a kept-alive connection ends with the server, so a stopped gateway answers nothing more (a peer
    // asking a stopped holder must fail, not be answered by the connection it kept).
    private readonly CancellationTokenSource _stop = new();
    private int _open;

    public LocalHttpServer(IPEndPoint endpoint, Func<HttpRequestHead, ReadOnlyMemory<byte>, LocalResponse> handler)
        : this(endpoint, (head, body, _) => new ValueTask<LocalResponse>(handler(head, body)), LocalServerLimits.Unbounded)
    {
    }

    public LocalHttpServer(IPEndPoint endpoint, Func<HttpRequestHead, ReadOnlyMemory<byte>, IPEndPoint, ValueTask<LocalResponse>> handler, LocalServerLimits bounds)
    {
        _handler = handler;
        _bounds = bounds;
        _listener = SocketListener.Bind(endpoint, PipeSettings.Receive(_limits.MaxRequestBodyBytes));
        _acceptLoop = _listener.AcceptLoopAsync(ServeAsync);
    }

    public IPEndPoint LocalEndPoint => _listener.LocalEndPoint;

    private async Task ServeAsync(ConnectionTransport connection, IPEndPoint remote)
    {
        if (Interlocked.Increment(ref _open) > _bounds.MaxConnections)
        {
            // Closed unanswered: an answer could wait on a client that reads nothing, the very holder this bound is against.
            Interlocked.Decrement(ref _open);
            Interlocked.Increment(ref _bounds.ConnectionsRefused);
            connection.Dispose();
            return;
        }
        PipeReader input = connection.Input;
        PipeWriter output = connection.Output;
        var head = new HttpRequestHead(_limits);
        using var body = new PooledBufferWriter();
        using var deadline = new CancellationTokenSource();
        using CancellationTokenRegistration stopping = _stop.Token.Register(static d => ((CancellationTokenSource)d!).Cancel(), deadline);
        TimeSpan idle = _bounds.FirstRequest;
        try
        {
            while (true)
            {
                deadline.CancelAfter(idle);
                if (await RequestHeadReader.ReadAsync(input, head, _limits, deadline, _bounds.Head).ConfigureAwait(false) is not { } reason) return;
                deadline.CancelAfter(_bounds.Body);
                if (reason != HttpRejectReason.None)
                {
                    Write(output, new LocalResponse(reason.StatusCode(), "text/plain", System.Text.Encoding.ASCII.GetBytes(reason.Describe())), close: true);
                    await output.FlushAsync(deadline.Token).ConfigureAwait(false);
                    return;
                }
                body.Clear();
                BodyReadResult read = await BodyReader.ReadWholeAsync(input, head.Framing, head.ContentLength, body, _limits.MaxRequestBodyBytes, _limits,
                    deadline.Token).ConfigureAwait(false);
                if (read == BodyReadResult.TimedOut) Interlocked.Increment(ref _bounds.TimedOut);
                if (read != BodyReadResult.Complete) return;
                LocalResponse response = await _handler(head, body.WrittenMemory, remote).ConfigureAwait(false);
                Write(output, response, head.ConnectionClose);
                if ((await output.FlushAsync(deadline.Token).ConfigureAwait(false)).IsCompleted || head.ConnectionClose) return;
                idle = _bounds.KeepAlive;
            }
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            if (!_stop.IsCancellationRequested) Interlocked.Increment(ref _bounds.TimedOut);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or InvalidOperationException)
        {
        }
        finally
        {
            Interlocked.Decrement(ref _open);
            await LingeringClose.RunAsync(input, output).ConfigureAwait(false);
            try { input.Complete(); } catch (InvalidOperationException) { }
            try { output.Complete(); } catch (InvalidOperationException) { }
            connection.Dispose();
        }
    }

    private static void Write(PipeWriter output, LocalResponse r, bool close)
    {
        Proxy.GatewayResponses.WriteHead(output, r.Status, System.Text.Encoding.ASCII.GetBytes(r.ContentType), r.Body.Length, close,
            System.Text.Encoding.ASCII.GetBytes(r.ExtraHeaders));
        output.Write(r.Body);
    }

    public void Dispose()
    {
        _listener.Stop();
        _stop.Cancel();
        _ = _acceptLoop;
    }
}
