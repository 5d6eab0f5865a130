using System.Collections.Concurrent;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace FastMcp.Interop.Tests.Harness;

/// <summary>The status line and headers of one HTTP/1.1 response, as received.</summary>
internal sealed record RawHttpResponseHead(int Status, string Reason, IReadOnlyList<KeyValuePair<string, string>> Headers)
{
    public string? Header(string name)
    {
        foreach (var (key, value) in Headers)
        {
            if (string.Equals(key, name, StringComparison.OrdinalIgnoreCase))
            {
                return value;
            }
        }
        return null;
    }

    public bool IsChunked =>
        Header("Transfer-Encoding")?.Contains("chunked", StringComparison.OrdinalIgnoreCase) == true;

    public bool IsEventStream =>
        Header("Content-Type")?.StartsWith("text/event-stream", StringComparison.OrdinalIgnoreCase) == true;
}

/// <summary>
/// HTTP/1.1 over a plain socket, byte for byte what the test writes: no client library decides
/// headers, buffering or retries, so tests see exactly what the gateway does on the wire
/// (status codes, headers, SSE framing, streaming). An https:// URL is spoken over TLS, trusting
/// only the test CAs given to <see cref="Trust"/>.
/// </summary>
internal sealed class RawHttpConnection : IAsyncDisposable
{
    private static readonly ConcurrentDictionary<string, X509Certificate2> TrustedCas = new();

    private readonly TcpClient _client;
    private readonly Stream _stream;
    private readonly byte[] _buffer = new byte[16 * 1024];
    private int _start;
    private int _end;

    private RawHttpConnection(TcpClient client, Stream stream, Uri baseUrl)
    {
        _client = client;
        _stream = stream;
        BaseUrl = baseUrl;
    }

    /// <summary>Adds a test CA (PEM file) whose certificates https:// connections accept.</summary>
    public static void Trust(string caPemFile) => TrustedCas.TryAdd(caPemFile, X509Certificate2.CreateFromPem(File.ReadAllText(caPemFile)));

    public Uri BaseUrl { get; }

    public static async Task<RawHttpConnection> ConnectAsync(Uri url, CancellationToken cancellationToken)
    {
        var client = new TcpClient { NoDelay = true };
        try
        {
            await client.ConnectAsync(url.Host, url.Port, cancellationToken);
            if (url.Scheme != Uri.UriSchemeHttps) return new RawHttpConnection(client, client.GetStream(), url);
            var tls = new SslStream(client.GetStream(), leaveInnerStreamOpen: false);
            await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = url.Host,
                ApplicationProtocols = [SslApplicationProtocol.Http11],
                RemoteCertificateValidationCallback = (_, certificate, _, _) => IssuedByTrustedCa(certificate),
            }, cancellationToken);
            return new RawHttpConnection(client, tls, url);
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    private static bool IssuedByTrustedCa(X509Certificate? certificate)
    {
        if (certificate is null || TrustedCas.IsEmpty) return false;
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        foreach (X509Certificate2 ca in TrustedCas.Values) chain.ChainPolicy.CustomTrustStore.Add(ca);
        return chain.Build(new X509Certificate2(certificate));
    }

    public async Task SendAsync(
        string method,
        string pathAndQuery,
        IEnumerable<KeyValuePair<string, string>> headers,
        string? body,
        CancellationToken cancellationToken)
    {
        var bodyBytes = body is null ? [] : Encoding.UTF8.GetBytes(body);
        var head = new StringBuilder();
        head.Append(method).Append(' ').Append(pathAndQuery).Append(" HTTP/1.1\r\n");
        head.Append("Host: ").Append(BaseUrl.Authority).Append("\r\n");
        foreach (var (key, value) in headers)
        {
            head.Append(key).Append(": ").Append(value).Append("\r\n");
        }
        if (body is not null)
        {
            head.Append("Content-Length: ").Append(bodyBytes.Length).Append("\r\n");
        }
        head.Append("\r\n");
        // Head and body leave in one write, as most clients send them.
        var headBytes = Encoding.ASCII.GetBytes(head.ToString());
        var request = new byte[headBytes.Length + bodyBytes.Length];
        headBytes.CopyTo(request, 0);
        bodyBytes.CopyTo(request, headBytes.Length);
        await _stream.WriteAsync(request, cancellationToken);
        await _stream.FlushAsync(cancellationToken);
    }

    public async Task<RawHttpResponseHead> ReadResponseHeadAsync(CancellationToken cancellationToken)
    {
        var statusLine = await ReadLineAsync(cancellationToken)
            ?? throw new IOException("connection closed before a response arrived");
        // A 1xx interim response is followed by the real one.
        while (true)
        {
            var parts = statusLine.Split(' ', 3);
            if (parts.Length < 2 || !parts[0].StartsWith("HTTP/1.", StringComparison.Ordinal) || !int.TryParse(parts[1], out var status))
            {
                throw new IOException($"not an HTTP/1.x status line: {statusLine}");
            }
            var headers = new List<KeyValuePair<string, string>>();
            while (true)
            {
                var line = await ReadLineAsync(cancellationToken)
                    ?? throw new IOException("connection closed inside the response head");
                if (line.Length == 0)
                {
                    break;
                }
                var colon = line.IndexOf(':');
                if (colon <= 0)
                {
                    throw new IOException($"malformed header line: {line}");
                }
                headers.Add(new(line[..colon].Trim(), line[(colon + 1)..].Trim()));
            }
            if (status is >= 100 and < 200)
            {
                statusLine = await ReadLineAsync(cancellationToken)
                    ?? throw new IOException("connection closed after an interim response");
                continue;
            }
            return new RawHttpResponseHead(status, parts.Length > 2 ? parts[2] : "", headers);
        }
    }

    /// <summary>The response body as a stream, framed by chunked encoding, Content-Length or close.</summary>
    public Stream OpenBody(RawHttpResponseHead head, string requestMethod)
    {
        if (requestMethod == "HEAD" || head.Status is 204 or 304)
        {
            return new BoundedBodyStream(this, 0);
        }
        if (head.IsChunked)
        {
            return new ChunkedBodyStream(this);
        }
        if (head.Header("Content-Length") is { } length)
        {
            return new BoundedBodyStream(this, long.Parse(length, System.Globalization.CultureInfo.InvariantCulture));
        }
        return new BoundedBodyStream(this, long.MaxValue);
    }

    public async Task<string> ReadBodyToEndAsync(RawHttpResponseHead head, string requestMethod, CancellationToken cancellationToken)
    {
        await using var body = OpenBody(head, requestMethod);
        using var reader = new StreamReader(body, Encoding.UTF8);
        return await reader.ReadToEndAsync(cancellationToken);
    }

    /// <summary>Reads up to one CRLF (or LF) terminated line of the head; null at end of stream.</summary>
    internal async Task<string?> ReadLineAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var newline = Array.IndexOf(_buffer, (byte)'\n', _start, _end - _start);
            if (newline >= 0)
            {
                var length = newline - _start;
                if (length > 0 && _buffer[newline - 1] == (byte)'\r')
                {
                    length--;
                }
                var line = Encoding.Latin1.GetString(_buffer, _start, length);
                _start = newline + 1;
                return line;
            }
            if (!await FillAsync(cancellationToken))
            {
                return null;
            }
        }
    }

    /// <summary>Reads body bytes: what is buffered first, then the socket. 0 means the peer closed.</summary>
    internal async ValueTask<int> ReadRawAsync(Memory<byte> destination, CancellationToken cancellationToken)
    {
        if (_start == _end && !await FillAsync(cancellationToken))
        {
            return 0;
        }
        var count = Math.Min(destination.Length, _end - _start);
        _buffer.AsMemory(_start, count).CopyTo(destination);
        _start += count;
        return count;
    }

    private async ValueTask<bool> FillAsync(CancellationToken cancellationToken)
    {
        if (_start > 0)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }
        if (_end == _buffer.Length)
        {
            throw new IOException("response line longer than the read buffer");
        }
        var read = await _stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken);
        _end += read;
        return read > 0;
    }

    public ValueTask DisposeAsync()
    {
        _stream.Dispose();
        _client.Dispose();
        return ValueTask.CompletedTask;
    }
}
