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
    /// <summary>Where the route forwards to; replaced whole when a reload changes the upstream's url.</summary>
    private sealed class Target(UpstreamUrl url, UpstreamPool pool, Forwarder forwarder)
    {
        public readonly UpstreamUrl Url = url;
        public readonly UpstreamPool Pool = pool;
        public readonly Forwarder Forwarder = forwarder;
    }

    private readonly bool _ownsCredential;
    private readonly bool _ownsPool;
    private readonly HttpLimits _limits;
    private readonly byte[] _headerLines = [];
    // Shared by every pool a retarget makes: "once per upstream" survives a changed url.
    private readonly DroppedHeaderNotice? _droppedHeaders;
    // A sibling path to the same upstream follows its primary's target; the primary holds its own.
    private readonly UpstreamRoute? _primary;
    private Target? _target;

    /// <param name="upstreamHeaderLines">Header lines every request to this upstream carries (a stdio bridge's secret); empty for others.</param>
    public UpstreamRoute(string name, string path, UpstreamUrl url, UpstreamOptions options, HttpLimits limits, UpstreamCredential? credential, bool ownsCredential,
        byte[]? upstreamHeaderLines = null)
    {
        _headerLines = upstreamHeaderLines ?? [];
        Name = name;
        PathText = path;
        Path = Encoding.ASCII.GetBytes(path);
        Options = options;
        _limits = limits;
        _droppedHeaders = new DroppedHeaderNotice(name);
        var pool = new UpstreamPool(url, options, limits) { UpstreamHeaderLines = _headerLines, DroppedHeaders = _droppedHeaders };
        _target = new Target(url, pool, new Forwarder(pool, limits));
        Credential = credential;
        _ownsCredential = ownsCredential;
        _ownsPool = true;
        Health = new UpstreamHealth(name);
        CookieWarning = new DroppedCookieWarning(name);
    }

    /// <summary>Another path to the same upstream: shares its pool, credential and health.</summary>
    public UpstreamRoute(UpstreamRoute sibling, string path)
    {
        Name = sibling.Name;
        PathText = path;
        Path = Encoding.ASCII.GetBytes(path);
        Options = sibling.Options;
        _limits = sibling._limits;
        _primary = sibling._primary ?? sibling;
        Credential = sibling.Credential;
        Health = sibling.Health;
        CookieWarning = sibling.CookieWarning;
    }

    /// <summary>"default" for the route of "upstream" + "endpointPath", else the key in "upstreams".</summary>
    public string Name { get; }
    public byte[] Path { get; }
    public string PathText { get; }
    public UpstreamOptions Options { get; }
    public UpstreamUrl Url => Current.Url;

    /// <summary>What audit records and logs call the upstream: its url, or "stdio:COMMAND" (not the bridge's loopback url).</summary>
    public string Describe() => Options.Stdio is { } stdio ? stdio.Describe() : Url.Text;
    public UpstreamPool Pool => Current.Pool;
    public Forwarder Forwarder => Current.Forwarder;

    private Target Current => _primary is null ? Volatile.Read(ref _target)! : _primary.Current;

    /// <summary>
    /// Forwards new exchanges to <paramref name="url"/> from now on (a reload changed the upstream's url). Exchanges
    /// in flight finish on the old upstream; its connections close as they come back, its idle ones at once.
    /// </summary>
    public void Retarget(UpstreamUrl url)
    {
        if (_primary is not null)
        {
            _primary.Retarget(url);
            return;
        }
        var pool = new UpstreamPool(url, Options, _limits) { UpstreamHeaderLines = _headerLines, DroppedHeaders = _droppedHeaders };
        Target old = Interlocked.Exchange(ref _target, new Target(url, pool, new Forwarder(pool, _limits)))!;
        old.Pool.Dispose();
        Health.ReportReachable();
    }

    /// <summary>Header line injected into every request to this upstream (never the client's token); null: none.</summary>
    public UpstreamCredential? Credential { get; }

    public UpstreamHealth Health { get; }

    /// <summary>Logs the first cookie this upstream set that the gateway dropped (shared by every path to it).</summary>
    public DroppedCookieWarning CookieWarning { get; }

    public void Dispose()
    {
        if (_ownsPool && _primary is null) Pool.Dispose();
        if (_ownsCredential) Credential?.Dispose();
    }
}
