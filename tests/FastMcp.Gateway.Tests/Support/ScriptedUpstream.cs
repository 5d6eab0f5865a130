using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace FastMcp.Gateway.Tests.Support;

/// <summary>
/// A stand-in MCP server on a raw socket (127.0.0.1, ephemeral port) whose every answer the test
/// scripts. It reads each request head and Content-Length or chunked body, records them, and hands
/// the exchange to the script; it counts accepted connections so tests can see pooling and reuse.
/// </summary>
internal sealed class ScriptedUpstream : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly Func<UpstreamExchange, Task> _script;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentBag<Socket> _connections = [];
    private readonly ConcurrentBag<Task> _connectionTasks = [];
    private readonly Task _acceptLoop;
    private int _accepted;
    private int _ended;
    // Per connection number: completed when that connection ends (tests that must know which one did).
    private readonly ConcurrentDictionary<int, TaskCompletionSource> _endOf = new();

    public ScriptedUpstream(Func<UpstreamExchange, Task> script)
    {
        _script = script;
        _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(64);
        Port = ((IPEndPoint)_listener.LocalEndPoint!).Port;
        _acceptLoop = AcceptLoopAsync();
    }

    public int Port { get; }
    public string Url => $"http://127.0.0.1:{Port}/mcp";

    /// <summary>Connections the gateway opened to this upstream.</summary>
    public int ConnectionsAccepted => Volatile.Read(ref _accepted);

    /// <summary>Connections that ended (closed by the peer, by a script or by a timeout).</summary>
    public int ConnectionsEnded => Volatile.Read(ref _ended);

    /// <summary>
    /// True when connection <paramref name="connectionNumber"/> (<see cref="UpstreamRequest.ConnectionNumber"/>) has ended
    /// or ends within <paramref name="within"/>: closed by the gateway, by a script or by the idle timeout.
    /// </summary>
    public async Task<bool> ConnectionEndsAsync(int connectionNumber, TimeSpan within)
    {
        Task ended = EndOf(connectionNumber).Task;
        return await Task.WhenAny(ended, Task.Delay(within)).ConfigureAwait(false) == ended;
    }

    private TaskCompletionSource EndOf(int connectionNumber) =>
        _endOf.GetOrAdd(connectionNumber, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

    /// <summary>Every request received, in arrival order.</summary>
    public ConcurrentQueue<UpstreamRequest> Requests { get; } = new();

    /// <summary>Failures inside the upstream itself (a script that threw), reported by tests that care.</summary>
    public ConcurrentQueue<Exception> Faults { get; } = new();

    /// <summary>Cancelled when the upstream stops: scripts that "never answer" wait on it.</summary>
    public CancellationToken Stopping => _stopping.Token;

    public UpstreamRequest SingleRequest()
    {
        UpstreamRequest[] all = [.. Requests];
        return all.Length == 1 ? all[0] : throw new Xunit.Sdk.XunitException($"the upstream received {all.Length} requests, expected 1");
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }
            socket.NoDelay = true;
            int number = Interlocked.Increment(ref _accepted);
            _connections.Add(socket);
            _connectionTasks.Add(Task.Run(() => ServeAsync(socket, number)));
        }
    }

    private async Task ServeAsync(Socket socket, int connectionNumber)
    {
        var reader = new SocketReader(socket);
        try
        {
            while (!_stopping.IsCancellationRequested)
            {
                // An idle pooled connection may wait long for its next request; it ends when the gateway closes it.
                WireHead? head;
                try
                {
                    head = await WireHead.ReadAsync(reader, TimeSpan.FromSeconds(30), "the next upstream request").ConfigureAwait(false);
                }
                catch (TimeoutException)
                {
                    return;
                }
                if (head is null) return;
                byte[] body = await ReadBodyAsync(reader, head).ConfigureAwait(false);
                var request = new UpstreamRequest(head, body, connectionNumber);
                Requests.Enqueue(request);
                var exchange = new UpstreamExchange(socket, request, _stopping.Token);
                await _script(exchange).ConfigureAwait(false);
                if (exchange.Closed) return;
            }
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // The gateway went away or the test ended: nothing to serve.
        }
        catch (Exception e)
        {
            Faults.Enqueue(e);
        }
        finally
        {
            socket.Dispose();
            Interlocked.Increment(ref _ended);
            EndOf(connectionNumber).TrySetResult();
        }
    }

    private static async Task<byte[]> ReadBodyAsync(SocketReader reader, WireHead head)
    {
        TimeSpan timeout = SocketReader.DefaultTimeout;
        if (head.Get("Transfer-Encoding") is not null) return await WireHead.ReadChunkedBodyAsync(reader, timeout, "an upstream request body").ConfigureAwait(false);
        string? length = head.Get("Content-Length");
        if (length is null) return [];
        return await reader.ReadExactAsync(int.Parse(length, System.Globalization.CultureInfo.InvariantCulture), timeout, "an upstream request body")
            .ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        _stopping.Cancel();
        _listener.Dispose();
        foreach (Socket s in _connections) s.Dispose();
        try
        {
            await Task.WhenAll([_acceptLoop, .. _connectionTasks]).WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // A script ignored the stop token; its socket is closed anyway.
        }
        _stopping.Dispose();
    }
}

/// <summary>What the upstream received: the head as sent by the gateway, and the body.</summary>
internal sealed class UpstreamRequest(WireHead head, byte[] body, int connectionNumber)
{
    public WireHead Head { get; } = head;
    public string Method => Head.StartLine.Split(' ')[0];
    public string Target => Head.StartLine.Split(' ')[1];
    public byte[] BodyBytes { get; } = body;
    public string Body => Encoding.UTF8.GetString(BodyBytes);

    /// <summary>1 for the first connection the upstream accepted, 2 for the second…</summary>
    public int ConnectionNumber { get; } = connectionNumber;

    public string? Header(string name) => Head.Get(name);

    /// <summary>The body's "id" member as raw JSON ("null" when the body has none or is not JSON).</summary>
    public string IdJson()
    {
        try
        {
            using var doc = System.Text.Json.JsonDocument.Parse(BodyBytes);
            return doc.RootElement.ValueKind == System.Text.Json.JsonValueKind.Object && doc.RootElement.TryGetProperty("id", out var id)
                ? id.GetRawText() : "null";
        }
        catch (System.Text.Json.JsonException)
        {
            return "null";
        }
    }
}

/// <summary>One request the script answers, with the means to answer it byte by byte.</summary>
internal sealed class UpstreamExchange(Socket socket, UpstreamRequest request, CancellationToken stopping)
{
    public UpstreamRequest Request { get; } = request;
    public CancellationToken Stopping { get; } = stopping;

    /// <summary>The script closed the connection: the upstream serves no further request on it.</summary>
    public bool Closed { get; private set; }

    public Task SendAsync(string text) => SendAsync(Encoding.UTF8.GetBytes(text));

    /// <summary>Raw bytes (a compressed body, invalid UTF-8…).</summary>
    public async Task SendAsync(byte[] bytes)
    {
        int sent = 0;
        while (sent < bytes.Length) sent += await socket.SendAsync(bytes.AsMemory(sent), SocketFlags.None, Stopping).ConfigureAwait(false);
    }

    /// <summary>A complete response with a Content-Length body.</summary>
    public Task RespondAsync(int status, string contentType, string body, string extraHeaders = "")
    {
        int length = Encoding.UTF8.GetByteCount(body);
        string type = contentType.Length > 0 ? $"Content-Type: {contentType}\r\n" : "";
        return SendAsync($"HTTP/1.1 {status} {Reason(status)}\r\n{type}Content-Length: {length}\r\n{extraHeaders}\r\n{body}");
    }

    public Task RespondJsonAsync(string json, string extraHeaders = "") => RespondAsync(200, "application/json", json, extraHeaders);

    /// <summary>The head of a chunked text/event-stream response; events follow with <see cref="SendEventAsync"/>.</summary>
    public Task StartEventStreamAsync(string extraHeaders = "") =>
        SendAsync($"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n{extraHeaders}\r\n");

    /// <summary>One server-sent event ("data: …" lines plus the blank line) in one chunk.</summary>
    public Task SendEventAsync(string eventText) => SendChunkAsync(eventText);

    public Task SendChunkAsync(string data)
    {
        int length = Encoding.UTF8.GetByteCount(data);
        return SendAsync($"{length:x}\r\n{data}\r\n");
    }

    public Task EndChunkedAsync() => SendAsync("0\r\n\r\n");

    /// <summary>True when the gateway closes this connection within <paramref name="within"/> (it sends nothing meanwhile).</summary>
    public async Task<bool> GatewayClosesAsync(TimeSpan within)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Stopping);
        timeout.CancelAfter(within);
        var buffer = new byte[256];
        try
        {
            while (true)
            {
                int n = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token).ConfigureAwait(false);
                if (n == 0) return true;
            }
        }
        catch (OperationCanceledException)
        {
            return false;
        }
        catch (SocketException)
        {
            return true;
        }
    }

    /// <summary>Closes the connection in an orderly way (FIN, not a reset).</summary>
    public void Close()
    {
        Closed = true;
        try
        {
            socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
        }
        socket.Close();
    }

    /// <summary>Never answers: waits until the upstream stops, then closes.</summary>
    public async Task HangAsync()
    {
        try
        {
            await Task.Delay(System.Threading.Timeout.Infinite, Stopping).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        Close();
    }

    private static string Reason(int status) => status switch
    {
        200 => "OK",
        202 => "Accepted",
        204 => "No Content",
        400 => "Bad Request",
        404 => "Not Found",
        _ => "Status",
    };
}
