using FastMcp.Gateway.Buffers;
using FastMcp.Gateway.Proxy;

namespace FastMcp.Gateway.Stages;

/// <summary>
/// A stage that sees each complete upstream message before the client does: one JSON body, or one
/// server-sent event. It may change the bytes in place or rewrite them (the relay re-frames).
/// </summary>
internal interface IResponseTransform
{
    void Apply(Exchange exchange, PooledBufferWriter message, bool isEvent);
}
