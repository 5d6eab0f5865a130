using FastMcp.Gateway.Configuration;
using FastMcp.Http;
using FastMcp.Identity;

namespace FastMcp.Gateway.Upstream;

/// <summary>
/// The gateway's MCP endpoint paths and their upstreams. A request's route is found by comparing its path bytes with
/// each route's in order (a handful of routes: no hashing, no strings, nothing allocated).
/// </summary>
internal sealed class RouteTable : IDisposable
{
    private readonly UpstreamRoute[] _routes;
    private readonly Federation.FederatedRoute[] _federated;

    private RouteTable(UpstreamRoute[] routes, Federation.FederatedRoute[] federated, UpstreamRoute[] upstreams)
    {
        _routes = routes;
        _federated = federated;
        Upstreams = upstreams;
    }

    /// <summary>The paths that forward to one upstream each (the default route first).</summary>
    public IReadOnlyList<UpstreamRoute> Routes => _routes;

    /// <summary>The paths that federate several upstreams.</summary>
    public IReadOnlyList<Federation.FederatedRoute> Federated => _federated;

    /// <summary>Every upstream once (health, metrics, probes), whether behind a plain or a federated path.</summary>
    public IReadOnlyList<UpstreamRoute> Upstreams { get; }

    /// <summary>The bridges of stdio upstreams, by upstream name (metrics: what their servers caused).</summary>
    public IReadOnlyDictionary<string, Stdio.StdioBridge> StdioBridges { get; private init; } = new Dictionary<string, Stdio.StdioBridge>();

    /// <summary>The federated route at <paramref name="path"/>; null when none (checked only after <see cref="Match"/> found nothing).</summary>
    /// <summary>The upstream named <paramref name="name"/> ("default" for "upstream"), or null.</summary>
    public UpstreamRoute? Upstream(string name)
    {
        foreach (UpstreamRoute route in Upstreams)
        {
            if (route.Name == name) return route;
        }
        return null;
    }

    public Federation.FederatedRoute? MatchFederated(ReadOnlySpan<byte> path)
    {
        foreach (Federation.FederatedRoute route in _federated)
        {
            if (path.SequenceEqual(route.Path)) return route;
        }
        return null;
    }

    /// <summary>The route of "upstream" + "endpointPath", or null when routes are configured without one.</summary>
    public UpstreamRoute? Default { get; private init; }

    /// <summary>The route whose path is exactly <paramref name="path"/>; null: no MCP endpoint there.</summary>
    public UpstreamRoute? Match(ReadOnlySpan<byte> path)
    {
        foreach (UpstreamRoute route in _routes)
        {
            if (path.SequenceEqual(route.Path)) return route;
        }
        return null;
    }

    /// <summary>
    /// Builds the routes of validated options. <paramref name="defaultUrl"/> is the default route's upstream (null: no
    /// default route); <paramref name="defaultCredential"/> its credential (identity.upstreamCredential, owned by the
    /// stages). Named upstreams' credentials are loaded here unless <paramref name="injectCredentials"/> is false
    /// (pass-through mode sends none, as for the default upstream).
    /// </summary>
    public static RouteTable Build(GatewayOptions options, UpstreamUrl? defaultUrl, UpstreamCredential? defaultCredential, bool injectCredentials,
        IReadOnlyDictionary<string, Stdio.StdioBridge>? stdio = null)
    {
        stdio ??= new Dictionary<string, Stdio.StdioBridge>();
        var routes = new List<UpstreamRoute>();
        var federated = new List<Federation.FederatedRoute>();
        var upstreams = new List<UpstreamRoute>();
        UpstreamRoute? defaultRoute = null;
        var byUpstream = new Dictionary<string, UpstreamRoute>(StringComparer.Ordinal);
        try
        {
            if (defaultUrl is not null)
            {
                defaultRoute = new UpstreamRoute(RouteValidation.DefaultUpstreamName, options.EndpointPath, defaultUrl, options.Upstream, options.Limits,
                    defaultCredential, ownsCredential: false, BridgeHeaders(RouteValidation.DefaultUpstreamName));
                routes.Add(defaultRoute);
                upstreams.Add(defaultRoute);
            }
            for (int i = 0; i < options.Routes.Count; i++)
            {
                RouteOptions route = options.Routes[i];
                if (route.Federate is { } names)
                {
                    var members = new UpstreamRoute[names.Count];
                    for (int j = 0; j < names.Count; j++) members[j] = Named(names[j], route.Path);
                    // Anonymous: every caller is the same principal, so a per-caller bound would only shrink the path's; as on plain routes, none.
                    int perCaller = options.Identity?.Mode == FastMcp.Identity.IdentityModes.Anonymous ? options.Limits.MaxConnections : options.Sessions.MaxPerCaller;
                    federated.Add(new Federation.FederatedRoute(route.Path, route.Separator, members, options.Limits.MaxConnections, perCaller));
                    continue;
                }
                // Two paths to one upstream share its pool, credential and health: it is one server.
                routes.Add(Named(route.Upstream, route.Path));
            }
        }
        catch
        {
            foreach (UpstreamRoute r in upstreams) r.Dispose();
            throw;
        }
        return new RouteTable([.. routes], [.. federated], [.. upstreams]) { Default = defaultRoute, StdioBridges = stdio };

        byte[] BridgeHeaders(string name) => stdio.TryGetValue(name, out Stdio.StdioBridge? b) ? b.SecretHeaderLines : [];

        // The first path naming an upstream builds it (pool, credential, health); later ones share it.
        UpstreamRoute Named(string name, string path)
        {
            if (byUpstream.TryGetValue(name, out UpstreamRoute? sibling)) return new UpstreamRoute(sibling, path);
            UpstreamOptions upstream = options.Upstreams[name];
            UpstreamCredential? credential = injectCredentials ? LoadCredential(name, upstream, fetchTokens: true) : null;
            // A stdio upstream is reached at its bridge, with the bridge's secret.
            UpstreamUrl url = stdio.TryGetValue(name, out Stdio.StdioBridge? bridge)
                ? UpstreamUrl.Parse(bridge.Url, $"upstreams.{name}.stdio")
                : UpstreamUrl.Parse(upstream.Url, $"upstreams.{name}.url");
            var built = new UpstreamRoute(name, path, url, upstream, options.Limits, credential, ownsCredential: true, BridgeHeaders(name));
            byUpstream.Add(name, built);
            upstreams.Add(built);
            return built;
        }
    }

    /// <summary>Loads a named upstream's credential (`fastmcp config check` and start), naming the field when it cannot be used.
    /// An oauth source calls its token endpoint only when <paramref name="fetchTokens"/> (at start, not for a check).</summary>
    public static UpstreamCredential? LoadCredential(string name, UpstreamOptions upstream, bool fetchTokens)
    {
        if (upstream.Credential is not { IsConfigured: true } options) return null;
        try
        {
            return new UpstreamCredential(options, TimeProvider.System, CredentialStart(name, fetchTokens));
        }
        catch (IdentityConfigurationException e)
        {
            throw new ConfigurationException($"upstreams.{name}.credential", e.Message.Replace("identity.upstreamCredential.", "", StringComparison.Ordinal));
        }
    }

    /// <summary>How a credential starts: its log lines go to the gateway's log, naming the upstream.</summary>
    public static UpstreamCredentialStart CredentialStart(string name, bool fetchTokens) =>
        new(name, fetchTokens, static line => Hosting.Log.Info(line), static line => Hosting.Log.Warn(line));

    public void Dispose()
    {
        foreach (UpstreamRoute upstream in Upstreams) upstream.Dispose();
    }
}
