
namespace FastMcp.Gateway.Transport;

/// <summary>
/// The answer to a connection over limits.maxConnections: one fixed 503 (JSON-RPC error, id null) and a close,
/// written before anything is read, so the caller learns why instead of seeing a reset.
/// </summary>
internal static class ConnectionRefusal
{
    private static readonly byte[] Body =
        """{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"too many open connections: try again shortly"}}"""u8.ToArray();

    private static readonly byte[] Response = [
        .. "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\nConnection: close\r\nContent-Length: "u8,
        .. System.Text.Encoding.ASCII.GetBytes(Body.Length.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        .. "\r\n\r\n"u8,
        .. Body,
    ];

    public static async Task AnswerAsync(SocketPipe transport)
    {
        try
        {
            await transport.Output.WriteAsync(Response).ConfigureAwait(false);
            await LingeringClose.RunAsync(transport.Input, transport.Output).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or ObjectDisposedException or InvalidOperationException)
        {
            // The caller left first: nothing to tell it.
        }
        finally
        {
            transport.Dispose();
        }
    }
}
