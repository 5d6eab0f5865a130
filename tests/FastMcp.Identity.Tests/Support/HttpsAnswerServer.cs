using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace FastMcp.Identity.Tests.Support;

/// <summary>
/// A real HTTPS listener on 127.0.0.1 (an identity provider or token endpoint behind a private CA): it answers
/// every request with the JSON the test gives, and counts requests served and TLS handshakes the client refused.
/// One connection at a time, each read bounded by a timeout; stopped on dispose.
/// </summary>
internal sealed class HttpsAnswerServer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly X509Certificate2 _certificate;
    private readonly string _json;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private int _served, _refusedHandshakes;

    public HttpsAnswerServer(string certificateFile, string keyFile, string json)
    {
        using X509Certificate2 pem = X509Certificate2.CreateFromPemFile(certificateFile, keyFile);
        _certificate = X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
        _json = json;
        _listener.Start();
        _loop = Task.Run(AcceptAsync);
    }

    /// <summary>https://localhost:PORT (the name the test certificates carry).</summary>
    public string BaseUrl => $"https://localhost:{((IPEndPoint)_listener.LocalEndpoint).Port}";
    public int Served => Volatile.Read(ref _served);
    public int RefusedHandshakes => Volatile.Read(ref _refusedHandshakes);

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try { client = await _listener.AcceptTcpClientAsync(_stop.Token); }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException) { return; }
            using (client)
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                timeout.CancelAfter(TimeSpan.FromSeconds(10));
                try { await ServeAsync(client.GetStream(), timeout.Token); }
                catch (Exception e) when (e is IOException or OperationCanceledException or System.Security.Authentication.AuthenticationException) { }
            }
        }
    }

    private async Task ServeAsync(NetworkStream network, CancellationToken ct)
    {
        await using var tls = new SslStream(network);
        try
        {
            await tls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = _certificate }, ct);
        }
        catch (Exception e) when (e is IOException or System.Security.Authentication.AuthenticationException)
        {
            // The client closed or alerted during the handshake: it did not trust the certificate.
            Interlocked.Increment(ref _refusedHandshakes);
            return;
        }
        // Read the head, then the body the Content-Length announces (bounded: 64 KiB).
        var buffer = new byte[64 * 1024];
        int filled = 0, headEnd;
        while ((headEnd = IndexOfHeadEnd(buffer, filled)) < 0)
        {
            int n = await tls.ReadAsync(buffer.AsMemory(filled), ct);
            if (n == 0 || filled + n == buffer.Length) return;
            filled += n;
        }
        string head = Encoding.ASCII.GetString(buffer, 0, headEnd);
        int length = 0;
        foreach (string line in head.Split("\r\n"))
            if (line.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase)) length = int.Parse(line[15..].Trim(), System.Globalization.CultureInfo.InvariantCulture);
        while (filled < headEnd + 4 + length)
        {
            int n = await tls.ReadAsync(buffer.AsMemory(filled), ct);
            if (n == 0) return;
            filled += n;
        }
        byte[] body = Encoding.UTF8.GetBytes(_json);
        byte[] answer = Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n");
        await tls.WriteAsync(answer, ct);
        await tls.WriteAsync(body, ct);
        await tls.FlushAsync(ct);
        Interlocked.Increment(ref _served);
    }

    private static int IndexOfHeadEnd(byte[] buffer, int filled) => buffer.AsSpan(0, filled).IndexOf("\r\n\r\n"u8);

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        try { await _loop.WaitAsync(TimeSpan.FromSeconds(10)); } catch (OperationCanceledException) { }
        _certificate.Dispose();
        _stop.Dispose();
    }
}
