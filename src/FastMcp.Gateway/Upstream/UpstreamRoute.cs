using System.Text;
using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Forwarding;
using FastMcp.Http;
using FastMcp.Identity;

namespace FastMcp.Gateway.Upstream;

/// <summary>
/// One MCP endpoint path of the gateway and the upstream behind it: its own connection pool, credential, timeouts,
/// health and name (what policy rules, audit records and metrics call it).
/// </summary>
internal sealed class UpstreamRoute : IDisposable
{
    private readonly bool _ownsCredential;
    private readonly bool _ownsPool;

    public UpstreamRoute(string name, string path, UpstreamUrl url, UpstreamOptions options, HttpLimits limits, UpstreamCredential? credential, bool ownsCredential)
    {
        Name = name;
        PathText = path;
        Path = Encoding.ASCII.GetBytes(path);
        Options = options;
        Url = url;
        Pool = new UpstreamPool(url, options, limits);
        Forwarder = new Forwarder(Pool, limits);
        Credential = credential;
        _ownsCredential = ownsCredential;
        _ownsPool = true;
        Health = new UpstreamHealth(name);
    }

    /// <summary>Another path to the same upstream: shares its pool, credential and health.</summary>
    public UpstreamRoute(UpstreamRoute sibling, string path)
    {
        Name = sibling.Name;
        PathText = path;
        Path = Encoding.ASCII.GetBytes(path);
        Options = sibling.Options;
        Url = sibling.Url;
        Pool = sibling.Pool;
        Forwarder = sibling.Forwarder;
        Credential = sibling.Credential;
        Health = sibling.Health;
    }

    /// <summary>"default" for the route of "upstream" + "endpointPath", else the key in "upstreams".</summary>
    public string Name { get; }
    public byte[] Path { get; }
    public string PathText { get; }
    public UpstreamOptions Options { get; }
    public UpstreamUrl Url { get; }
    public UpstreamPool Pool { get; }
    public Forwarder Forwarder { get; }

    /// <summary>Header line injected into every request to this upstream (never the client's token); null: none.</summary>
    public UpstreamCredential? Credential { get; }

    public UpstreamHealth Health { get; }

    public void Dispose()
    {
        if (_ownsPool) Pool.Dispose();
        if (_ownsCredential) Credential?.Dispose();
    }
}
