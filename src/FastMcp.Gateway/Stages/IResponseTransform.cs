using FastMcp.Gateway.Buffers;
using FastMcp.Gateway.Proxy;

namespace FastMcp.Gateway.Stages;

/// <summary>
/// A stage that sees each complete upstream message before the client does: one JSON body, or one
/// server-sent event. It may change the bytes in place or rewrite them (the relay re-frames). It is
/// shared by every connection, so it keeps configuration only: anything it writes goes into
/// the <see cref="TransformBuffers"/> of the connection whose message it handles.
/// </summary>
internal interface IResponseTransform
{
    /// <summary>False: the message cannot be made safe and must not reach the client; the relay refuses it.</summary>
    bool Apply(Exchange exchange, PooledBufferWriter message, bool isEvent, TransformBuffers buffers);
}
