using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace FastMcp.Audit.Tests;

/// <summary>One POST the receiver got: its head lines and body.</summary>
public sealed record ReceivedPost(string Head, string Body)
{
    public string? Header(string name)
    {
        foreach (var line in Head.Split("\r\n"))
        {
            int colon = line.IndexOf(':');
            if (colon > 0 && line.AsSpan(0, colon).Equals(name, StringComparison.OrdinalIgnoreCase)) return line[(colon + 1)..].Trim();
        }
        return null;
    }
}

/// <summary>
/// A SIEM endpoint on 127.0.0.1 (ephemeral port, kept across <see cref="Stop"/> and <see cref="Start"/> so an
/// outage can be staged): reads Content-Length POSTs, answers <see cref="Status"/>, keeps the ones answered 2xx.
/// </summary>
public sealed class HttpRecordReceiver : IAsyncDisposable
{
    private TcpListener _listener;
    private CancellationTokenSource _stop = new();
    private Task _accept = Task.CompletedTask;
    private readonly ConcurrentQueue<ReceivedPost> _accepted = new();
    private readonly SemaphoreSlim _arrived = new(0);

    public HttpRecordReceiver()
    {
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _accept = AcceptAsync(_listener, _stop.Token);
    }

    public int Port { get; }
    public string Url => $"http://127.0.0.1:{Port}/ingest";
    /// <summary>What the next POSTs are answered.</summary>
    public volatile int Status = 200;
    /// <summary>When set, a Location field the answers carry (a redirect, with a 3xx <see cref="Status"/>).</summary>
    public volatile string? Location;
    /// <summary>Every POST seen, accepted or not.</summary>
    public int PostsSeen;
    private int _openConnections;
    /// <summary>Connections accepted and not yet closed by the client (or by <see cref="Stop"/>).</summary>
    public int OpenConnections => Volatile.Read(ref _openConnections);
    public IReadOnlyCollection<ReceivedPost> Accepted => _accepted;

    /// <summary>Closes the listening socket (connection refused) until <see cref="Start"/>.</summary>
    public async Task Stop()
    {
        _stop.Cancel();
        _listener.Stop();
        try { await _accept; } catch (Exception) { }
    }

    public void Start()
    {
        _stop = new CancellationTokenSource();
        _listener = new TcpListener(IPAddress.Loopback, Port);
        _listener.Start();
        _accept = AcceptAsync(_listener, _stop.Token);
    }

    /// <summary>Waits (bounded) until the accepted bodies hold at least <paramref name="lines"/> non-empty lines.</summary>
    public async Task<List<string>> WaitForLinesAsync(int lines, TimeSpan limit)
    {
        using var cts = new CancellationTokenSource(limit);
        while (true)
        {
            var all = Lines();
            if (all.Count >= lines) return all;
            try { await _arrived.WaitAsync(cts.Token); }
            catch (OperationCanceledException) { return Lines(); }
        }
    }

    public List<string> Lines()
    {
        var all = new List<string>();
        foreach (var p in _accepted) all.AddRange(p.Body.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        return all;
    }

    private async Task AcceptAsync(TcpListener listener, CancellationToken ct)
    {
        var connections = new List<Task>();
        try
        {
            while (!ct.IsCancellationRequested)
            {
                var socket = await listener.AcceptSocketAsync(ct);
                Interlocked.Increment(ref _openConnections);
                connections.Add(ServeAsync(socket, ct));
            }
        }
        catch (Exception) when (ct.IsCancellationRequested) { }
        catch (SocketException) { }
        catch (ObjectDisposedException) { }
        try { await Task.WhenAll(connections); } catch (Exception) { }
    }

    private async Task ServeAsync(Socket socket, CancellationToken ct)
    {
        using var _ = socket;
        using var stream = new NetworkStream(socket);
        var buffer = new byte[1 << 16];
        var pending = new MemoryStream();
        try
        {
            while (!ct.IsCancellationRequested)
            {
                int headEnd;
                while ((headEnd = IndexOfHeadEnd(pending)) < 0)
                {
                    int n = await stream.ReadAsync(buffer, ct);
                    if (n == 0) return;
                    pending.Write(buffer, 0, n);
                }
                string head = Encoding.ASCII.GetString(pending.GetBuffer(), 0, headEnd);
                var post = new ReceivedPost(head, "");
                int length = int.Parse(post.Header("Content-Length") ?? "0", System.Globalization.CultureInfo.InvariantCulture);
                while (pending.Length < headEnd + 4 + length)
                {
                    int n = await stream.ReadAsync(buffer, ct);
                    if (n == 0) return;
                    pending.Write(buffer, 0, n);
                }
                string body = Encoding.UTF8.GetString(pending.GetBuffer(), headEnd + 4, length);
                var rest = pending.GetBuffer().AsSpan(headEnd + 4 + length, (int)pending.Length - headEnd - 4 - length).ToArray();
                pending = new MemoryStream();
                pending.Write(rest);
                int status = Status;
                Interlocked.Increment(ref PostsSeen);
                if (status is >= 200 and < 300) _accepted.Enqueue(post with { Body = body });
                string location = Location is { } to ? $"Location: {to}\r\n" : "";
                await stream.WriteAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 {status} X\r\n{location}Content-Length: 0\r\n\r\n"), ct);
                _arrived.Release();
            }
        }
        catch (Exception) when (ct.IsCancellationRequested) { }
        catch (IOException) { }
        finally
        {
            Interlocked.Decrement(ref _openConnections);
        }
    }

    private static int IndexOfHeadEnd(MemoryStream s) =>
        s.GetBuffer().AsSpan(0, (int)s.Length).IndexOf("\r\n\r\n"u8);

    public async ValueTask DisposeAsync()
    {
        await Stop();
        _stop.Dispose();
    }
}
