using System.IO.Pipelines;
using System.Net.Sockets;

namespace FastMcp.Gateway.Transport;

/// <summary>
/// Closing a connection without losing the last response: flushing only hands bytes to the
/// socket's send loop, and disposing the socket right after can drop them (and a reset can make
/// the peer discard what it received). So the output is completed (the send loop sends what is
/// queued, then shuts down its side), and the input is drained until the peer closes too, bounded.
/// </summary>
internal static class LingeringClose
{
    internal static readonly TimeSpan Linger = TimeSpan.FromSeconds(2);

    public static async ValueTask RunAsync(PipeReader input, PipeWriter output)
    {
        // The linger bounds the last flush too: a client that reads nothing must not hold the close (and its slot).
        using var linger = new CancellationTokenSource(Linger);
        try
        {
            await output.FlushAsync(linger.Token).ConfigureAwait(false);
            await output.CompleteAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or InvalidOperationException or OperationCanceledException)
        {
            return;
        }
        try
        {
            while (true)
            {
                ReadResult result = await input.ReadAsync(linger.Token).ConfigureAwait(false);
                input.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted || result.IsCanceled) return;
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or SocketException or ObjectDisposedException or InvalidOperationException)
        {
        }
    }
}
