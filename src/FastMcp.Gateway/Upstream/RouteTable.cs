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

    private RouteTable(UpstreamRoute[] routes) => _routes = routes;

    public IReadOnlyList<UpstreamRoute> Routes => _routes;

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
    public static RouteTable Build(GatewayOptions options, UpstreamUrl? defaultUrl, UpstreamCredential? defaultCredential, bool injectCredentials)
    {
        var routes = new List<UpstreamRoute>();
        UpstreamRoute? defaultRoute = null;
        var byUpstream = new Dictionary<string, UpstreamRoute>(StringComparer.Ordinal);
        try
        {
            if (defaultUrl is not null)
            {
                defaultRoute = new UpstreamRoute(RouteValidation.DefaultUpstreamName, options.EndpointPath, defaultUrl, options.Upstream, options.Limits,
                    defaultCredential, ownsCredential: false);
                routes.Add(defaultRoute);
            }
            for (int i = 0; i < options.Routes.Count; i++)
            {
                RouteOptions route = options.Routes[i];
                UpstreamOptions upstream = options.Upstreams[route.Upstream];
                // Two paths to one upstream share its pool, credential and health: it is one server.
                if (byUpstream.TryGetValue(route.Upstream, out UpstreamRoute? sibling))
                {
                    routes.Add(new UpstreamRoute(sibling, route.Path));
                    continue;
                }
                UpstreamCredential? credential = injectCredentials ? LoadCredential(route.Upstream, upstream) : null;
                var built = new UpstreamRoute(route.Upstream, route.Path, UpstreamUrl.Parse(upstream.Url, $"upstreams.{route.Upstream}.url"), upstream, options.Limits,
                    credential, ownsCredential: true);
                byUpstream.Add(route.Upstream, built);
                routes.Add(built);
            }
        }
        catch
        {
            foreach (UpstreamRoute r in routes) r.Dispose();
            throw;
        }
        return new RouteTable([.. routes]) { Default = defaultRoute };
    }

    /// <summary>Loads a named upstream's credential (`fastmcp config check` and start), naming the field when it cannot be used.</summary>
    public static UpstreamCredential? LoadCredential(string name, UpstreamOptions upstream)
    {
        if (upstream.Credential is not { IsConfigured: true } options) return null;
        try
        {
            return new UpstreamCredential(options);
        }
        catch (IdentityConfigurationException e)
        {
            throw new ConfigurationException($"upstreams.{name}.credential", e.Message.Replace("identity.upstreamCredential.", "", StringComparison.Ordinal));
        }
    }

    public void Dispose()
    {
        foreach (UpstreamRoute route in _routes) route.Dispose();
    }
}
