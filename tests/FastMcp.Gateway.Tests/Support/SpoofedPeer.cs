using System.Net;
using System.Net.Sockets;
using System.Text;

namespace FastMcp.Gateway.Tests.Support;

/// <summary>
/// Something on an approval peer's URL that is not a replica: it answers every peer request (at most 10, within 30 s) with
/// one fixed JSON body and a signature made without the peer key. A replica must believe none of it.
/// </summary>
internal sealed class SpoofedPeer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new(TimeSpan.FromSeconds(30));
    private readonly Task _serving;

    public SpoofedPeer(string body)
    {
        _listener.Start();
        _serving = ServeAsync(body, _stop.Token);
    }

    public string Url => $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

    private async Task ServeAsync(string body, CancellationToken ct)
    {
        for (int served = 0; served < 10; served++)
        {
            TcpClient client;
            try { client = await _listener.AcceptTcpClientAsync(ct); }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException) { return; }
            using (client)
            {
                NetworkStream stream = client.GetStream();
                var buffer = new byte[65536];
                int read = 0;
                // The request head and its body (peer requests are small): read until the head ends, bounded by the buffer.
                while (read < buffer.Length && Encoding.ASCII.GetString(buffer, 0, read).IndexOf("\r\n\r\n", StringComparison.Ordinal) < 0)
                {
                    int n = await stream.ReadAsync(buffer.AsMemory(read), ct);
                    if (n == 0) break;
                    read += n;
                }
                string answer = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
                    + "X-FastMcp-Peer-Instance: 0123456789abcdef0123456789abcdef\r\nX-FastMcp-Peer-Signature: v1=" + new string('0', 64) + "\r\n"
                    + $"Content-Length: {body.Length}\r\n\r\n{body}";
                await stream.WriteAsync(Encoding.ASCII.GetBytes(answer), ct);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        await _serving;
        _stop.Dispose();
    }
}
