using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using FastMcp.Gateway.Clients;
using FastMcp.Gateway.Hosting;

namespace FastMcp.Gateway.Proxy;

internal sealed partial class ClientConnection
{
    /// <summary>
    /// Reads the PROXY protocol header a listener with clientAddress.proxyProtocol expects first. False: it was
    /// absent, malformed or late, and the connection is closed without an answer (counted in /metrics).
    /// </summary>
    private async ValueTask<bool> ReadProxyHeaderAsync()
    {
        ArmTimer(_rt.ClientAddressing.ProxyProtocolTimeoutMs);
        while (true)
        {
            ReadResult result;
            try
            {
                result = await _input.ReadAsync(_timer.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return Refuse("no complete PROXY header in time");
            }
            if (result.IsCanceled) return Refuse("stopping");
            ReadOnlySequence<byte> buffer = result.Buffer;
            ProxyHeaderStatus status = ProxyProtocolHeader.TryParse(buffer, out int consumed, out IPAddress? source);
            switch (status)
            {
                case ProxyHeaderStatus.Proxied:
                    _input.AdvanceTo(buffer.GetPosition(consumed));
                    _client.SetProxiedSource(source!);
                    return true;
                case ProxyHeaderStatus.Local:
                    _input.AdvanceTo(buffer.GetPosition(consumed));
                    return true;
                case ProxyHeaderStatus.Invalid:
                    _input.AdvanceTo(buffer.End);
                    return Refuse("absent or malformed PROXY header");
            }
            if (result.IsCompleted)
            {
                _input.AdvanceTo(buffer.End);
                return Refuse("connection closed inside the PROXY header");
            }
            _input.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    private bool Refuse(string why)
    {
        Admin.GatewayCounters.Add(ref _rt.Counters.ProxyProtocolRefused);
        Log.Debug($"client {RemoteAddress}: connection refused: {why}");
        return false;
    }
}
