using System.Net;
using System.Net.Sockets;
using FastMcp.Gateway.Hosting;

namespace FastMcp.Gateway.Upstream;

/// <summary>
/// Probes the routes' upstreams that are marked down: every route's probeIntervalMs, a TCP connect (closed at once,
/// nothing sent) within its connectTimeoutMs; success marks it up. An upstream that is up is not probed: forwarding
/// reports on it, and probing it would open connections the upstream sees as idle clients.
/// </summary>
internal sealed class UpstreamProbe : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _loops = [];

    public UpstreamProbe(IReadOnlyList<UpstreamRoute> routes)
    {
        var seen = new HashSet<UpstreamHealth>();
        foreach (UpstreamRoute route in routes)
        {
            if (route.Options.ProbeIntervalMs <= 0 || !seen.Add(route.Health)) continue;
            _loops.Add(LoopAsync(route));
        }
    }

    private async Task LoopAsync(UpstreamRoute route)
    {
        TimeSpan interval = TimeSpan.FromMilliseconds(route.Options.ProbeIntervalMs);
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(interval, _stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            if (route.Health.IsUp) continue;
            if (await CanConnectAsync(route).ConfigureAwait(false)) route.Health.ReportReachable();
        }
    }

    /// <summary>True when the upstream accepts a TCP connection within its connect timeout.</summary>
    public async Task<bool> CanConnectAsync(UpstreamRoute route)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        timeout.CancelAfter(route.Options.ConnectTimeoutMs);
        try
        {
            EndPoint endpoint = await route.Url.ResolveAsync(timeout.Token).ConfigureAwait(false);
            using var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            await socket.ConnectAsync(endpoint, timeout.Token).ConfigureAwait(false);
            return true;
        }
        catch (Exception e) when (e is SocketException or IOException or OperationCanceledException)
        {
            Log.Debug($"upstream '{route.Name}': probe failed: {e.GetType().Name}");
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        await Task.WhenAll(_loops).ConfigureAwait(false);
        _stop.Dispose();
    }
}
