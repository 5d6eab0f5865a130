using FastMcp.Gateway.Proxy;
using FastMcp.Http;

namespace FastMcp.Gateway.Stages;

/// <summary>
/// A response stage that also sees the header fields of an upstream's answer before they are relayed: the client
/// reads them as surely as the body. It changes values in place, same length, so the head stays well-formed.
/// </summary>
internal interface IResponseHeadTransform
{
    void ApplyToHead(Exchange exchange, HttpHeaderTable headers);
}
