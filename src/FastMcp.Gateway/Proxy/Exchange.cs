using System.Buffers;
using System.Diagnostics;
using FastMcp.Http;
using FastMcp.Mcp;

namespace FastMcp.Gateway.Proxy;

/// <summary>
/// The state of one request/response exchange that the stages share. One instance per client
/// connection, reset between requests, so stages pass facts along without allocating.
/// </summary>
internal sealed class Exchange
{
    public Exchange(HttpRequestHead request) => Request = request;

    public HttpRequestHead Request { get; }

    /// <summary>The request body (a view into the client pipe or the connection's decode buffer).</summary>
    public ReadOnlySequence<byte> Body;

    /// <summary>What the body says, when it was inspected.</summary>
    public McpCall Call;
    public bool HasCall;

    public long StartTimestamp;
    public int ResponseStatus;

    public void Reset()
    {
        Body = default;
        Call = default;
        HasCall = false;
        ResponseStatus = 0;
        StartTimestamp = Stopwatch.GetTimestamp();
    }
}
