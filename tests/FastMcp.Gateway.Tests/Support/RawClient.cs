using System.Net;
using System.Net.Sockets;
using System.Text;

namespace FastMcp.Gateway.Tests.Support;

/// <summary>
/// An HTTP/1.1 client that writes exactly the bytes a test gives it and parses what comes back
/// just enough to assert on: status line, header fields, Content-Length / chunked / close-delimited bodies.
/// </summary>
internal sealed class RawClient : IDisposable
{
    private readonly Socket _socket;
    private readonly SocketReader _reader;

    private RawClient(Socket socket)
    {
        _socket = socket;
        _reader = new SocketReader(socket);
    }

    public TimeSpan Timeout { get; set; } = SocketReader.DefaultTimeout;

    /// <summary>
    /// Connects to <paramref name="endpoint"/>. <paramref name="receiveBufferBytes"/> fixes the socket's receive
    /// buffer (and turns off the kernel's autotuning, which on this machine lets it grow to 32 MiB): for tests of a
    /// client that stops reading, so that the kernel cannot take the whole answer off the gateway's hands.
    /// </summary>
    public static async Task<RawClient> ConnectAsync(IPEndPoint endpoint, int? receiveBufferBytes = null)
    {
        var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        if (receiveBufferBytes is { } size) socket.ReceiveBufferSize = size;
        try
        {
            using var cts = new CancellationTokenSource(SocketReader.DefaultTimeout);
            await socket.ConnectAsync(endpoint, cts.Token).ConfigureAwait(false);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        return new RawClient(socket);
    }

    public Task SendAsync(string text) => SendAsync(Encoding.UTF8.GetBytes(text));

    public async Task SendAsync(byte[] bytes)
    {
        using var cts = new CancellationTokenSource(Timeout);
        int sent = 0;
        while (sent < bytes.Length)
        {
            sent += await _socket.SendAsync(bytes.AsMemory(sent), SocketFlags.None, cts.Token).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// One receive on the socket, before anything was read through the parsing methods: the bytes the gateway's
    /// first send (or sends, if they arrived before this ran) put there.
    /// </summary>
    public async Task<string> ReceiveOnceAsync()
    {
        using var cts = new CancellationTokenSource(Timeout);
        byte[] buffer = new byte[64 * 1024];
        int got = await _socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token).ConfigureAwait(false);
        return Encoding.UTF8.GetString(buffer, 0, got);
    }

    /// <summary>Reads a response head only (an interim 1xx, or the start of a stream whose chunks are read one by one).</summary>
    public async Task<(WireHead Head, int Status)> ReadHeadAsync(string waitingFor = "a response head")
    {
        WireHead head = await WireHead.ReadAsync(_reader, Timeout, waitingFor).ConfigureAwait(false)
            ?? throw new IOException($"the gateway closed the connection without a response while the test waited for {waitingFor}");
        return (head, ParseStatus(head.StartLine));
    }

    /// <summary>Reads one whole response. 1xx responses are returned as they are (the caller reads the final one next).</summary>
    public async Task<RawResponse> ReadResponseAsync(string waitingFor = "a response", bool requestWasHead = false)
    {
        (WireHead head, int status) = await ReadHeadAsync(waitingFor).ConfigureAwait(false);
        if (status is >= 100 and < 200 || status is 204 or 304 || requestWasHead) return new RawResponse(head, status, [], chunked: false);
        string? transferEncoding = head.Get("Transfer-Encoding");
        if (transferEncoding is not null)
        {
            if (!transferEncoding.Equals("chunked", StringComparison.OrdinalIgnoreCase))
                throw new FormatException($"unexpected Transfer-Encoding '{transferEncoding}'");
            byte[] body = await WireHead.ReadChunkedBodyAsync(_reader, Timeout, waitingFor).ConfigureAwait(false);
            return new RawResponse(head, status, body, chunked: true);
        }
        string? length = head.Get("Content-Length");
        if (length is not null)
        {
            byte[] body = await _reader.ReadExactAsync(int.Parse(length, System.Globalization.CultureInfo.InvariantCulture), Timeout, waitingFor)
                .ConfigureAwait(false);
            return new RawResponse(head, status, body, chunked: false);
        }
        return new RawResponse(head, status, await _reader.ReadToEndAsync(Timeout, waitingFor).ConfigureAwait(false), chunked: false);
    }

    /// <summary>The next chunk of a chunked body as text; null at the terminating 0-chunk.</summary>
    public async Task<string?> ReadChunkAsync(string waitingFor = "the next chunk")
    {
        byte[]? chunk = await WireHead.ReadChunkAsync(_reader, Timeout, waitingFor).ConfigureAwait(false);
        return chunk is null ? null : Encoding.UTF8.GetString(chunk);
    }

    /// <summary>True when the gateway closes the connection within the time given and sends nothing more.</summary>
    public Task<bool> GatewayClosesAsync(TimeSpan? within = null) => _reader.PeerClosesAsync(within ?? TimeSpan.FromSeconds(5));

    /// <summary>Reads and discards what the gateway sent until it closes (true) or <paramref name="within"/> passes.</summary>
    public Task<bool> DrainUntilGatewayClosesAsync(TimeSpan within) => _reader.DrainUntilPeerClosesAsync(within);

    /// <summary>Half-closes the sending side (the gateway sees end of input).</summary>
    public void ShutdownSend() => _socket.Shutdown(SocketShutdown.Send);

    private static int ParseStatus(string statusLine)
    {
        string[] parts = statusLine.Split(' ', 3);
        if (parts.Length < 2 || !parts[0].StartsWith("HTTP/1.", StringComparison.Ordinal) || !int.TryParse(parts[1], out int status))
            throw new FormatException($"not a status line: '{statusLine}'");
        return status;
    }

    public void Dispose() => _socket.Dispose();
}
