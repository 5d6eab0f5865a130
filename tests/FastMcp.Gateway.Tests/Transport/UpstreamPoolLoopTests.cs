using System.Net;
using System.Net.Sockets;
using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Transport.Epoll;
using FastMcp.Gateway.Upstream;
using FastMcp.Http;

namespace FastMcp.Gateway.Tests.Transport;

/// <summary>
/// Upstream connections stay with the socket loop of the client that asked for them (issue #14): a connection is
/// registered with the client's loop, goes back to that loop's idle connections, and is handed only to clients on
/// that loop, so the upstream's answer is read on the thread that read the request. Real sockets and the gateway's
/// own loops (Linux x86-64 runs one per core; the CI machine has two).
/// </summary>
public sealed class UpstreamPoolLoopTests : IDisposable
{
    private readonly Socket _listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    private readonly List<Socket> _accepted = [];

    public UpstreamPoolLoopTests()
    {
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(16);
        _ = AcceptAllAsync();
    }

    private async Task AcceptAllAsync()
    {
        try
        {
            while (true)
            {
                Socket s = await _listener.AcceptAsync();
                lock (_accepted) _accepted.Add(s);
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // the listener closed at the end of the test
        }
    }

    public void Dispose()
    {
        _listener.Dispose();
        lock (_accepted) foreach (Socket s in _accepted) s.Dispose();
    }

    private UpstreamPool Pool(int maxIdle = 8) =>
        new(UpstreamUrl.Parse($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndPoint!).Port}/mcp", "upstream.url"),
            new UpstreamOptions { MaxIdleConnections = maxIdle }, new HttpLimits());

    [Fact]
    public async Task A_connection_is_opened_on_the_asking_loop_and_reused_only_there()
    {
        int loops = ReadinessEngine.Count;
        Assert.True(loops >= 1, "the gateway's own socket loops run on Linux x86-64");
        int other = loops - 1; // with one loop, the same loop: then the second rent reuses the first connection
        using UpstreamPool pool = Pool();
        using var timeout = new CancellationTokenSource(10_000);

        UpstreamConnection first = await pool.RentAsync(0, timeout.Token);
        Assert.Equal(0, first.Loop);
        pool.Return(first);

        UpstreamConnection second = await pool.RentAsync(other, timeout.Token);
        Assert.Equal(other, second.Loop);
        Assert.Equal(other == 0, ReferenceEquals(first, second));
        Assert.Equal(other == 0 ? 1 : 2, pool.ConnectionsOpened);
        pool.Return(second);

        // Each loop gets its own connection back; a caller on no loop (-1) takes whichever is idle.
        UpstreamConnection again = await pool.RentAsync(0, timeout.Token);
        Assert.Same(first, again);
        if (other != 0)
        {
            UpstreamConnection any = await pool.RentAsync(-1, timeout.Token);
            Assert.Same(second, any);
            pool.Return(any);
        }
        pool.Return(again);
        Assert.Equal(other == 0 ? 1 : 2, pool.ConnectionsOpened);
    }

    [Fact]
    public async Task MaxIdleConnections_bounds_all_loops_together_and_idle_connections_follow_the_loop_that_returns()
    {
        int loops = ReadinessEngine.Count;
        int other = loops - 1;
        using UpstreamPool pool = Pool(maxIdle: 1);
        using var timeout = new CancellationTokenSource(10_000);
        UpstreamConnection a = await pool.RentAsync(0, timeout.Token);
        UpstreamConnection b = await pool.RentAsync(other, timeout.Token);
        Assert.NotSame(a, b); // both in use at once: two connections
        pool.Return(a);
        pool.Return(b); // one over the bound: another loop's idle connection (a) makes room, else b is the surplus

        UpstreamConnection kept = await pool.RentAsync(-1, timeout.Token);
        Assert.Same(other == 0 ? a : b, kept);
        UpstreamConnection fresh = await pool.RentAsync(-1, timeout.Token);
        Assert.NotSame(a, fresh);
        Assert.NotSame(b, fresh);
        Assert.Equal(3, pool.ConnectionsOpened);
    }

    [Fact]
    public async Task MaxIdleConnections_zero_keeps_nothing()
    {
        using UpstreamPool pool = Pool(maxIdle: 0);
        using var timeout = new CancellationTokenSource(10_000);
        UpstreamConnection a = await pool.RentAsync(0, timeout.Token);
        pool.Return(a);
        Assert.NotSame(a, await pool.RentAsync(0, timeout.Token));
        Assert.Equal(2, pool.ConnectionsOpened);
    }
}
