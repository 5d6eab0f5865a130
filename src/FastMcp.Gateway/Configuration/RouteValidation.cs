namespace FastMcp.Gateway.Configuration;

/// <summary>
/// Checks "upstream", "upstreams" and "routes" together: which routes exist, that every name and path is usable and
/// unique, and that each route names an upstream that exists. Errors name the field (routes[1].upstream, ...).
/// </summary>
public static class RouteValidation
{
    /// <summary>The name of the upstream of "upstream" + "endpointPath" (policy rules, audit records and metrics use it).</summary>
    public const string DefaultUpstreamName = FastMcp.Policy.PolicyTestCommand.DefaultUpstream;

    /// <summary>
    /// The default route exists unless routes are configured without an "upstream.url": with no routes it always
    /// does (an empty url then serves the built-in demo server, as before routes existed).
    /// </summary>
    public static bool HasDefaultRoute(GatewayOptions o) => o.Routes is not { Count: > 0 } || !string.IsNullOrEmpty(o.Upstream.Url) || o.Upstream.Stdio is not null;

    /// <summary>The upstream names a policy rule may scope itself to: "default" when the default route exists, and the named ones.</summary>
    public static List<string> UpstreamNames(GatewayOptions o)
    {
        var names = new List<string>();
        if (HasDefaultRoute(o)) names.Add(DefaultUpstreamName);
        if (o.Upstreams is { } upstreams) names.AddRange(upstreams.Keys);
        return names;
    }

    private const string DpopOnlyExchange = "exchanges the caller's bearer token; identity.dpop.required admits DPoP-bound tokens only, which are never exchanged";

    public static void Validate(GatewayOptions o)
    {
        if (o.Upstream is null) throw new ConfigurationException("upstream", "must be an object");
        if (!string.IsNullOrEmpty(o.Upstream.Url)) UpstreamUrl.Parse(o.Upstream.Url, "upstream.url");
        ValidateSettings(o.Upstream, "upstream");
        ForwardHeadersValidation.Validate(o.Upstream, "upstream",
            o.Identity?.UpstreamCredential is { IsConfigured: true } defaultCredential ? defaultCredential.HeaderName : null);
        // A token exchange needs the caller's verified token; anonymous mode has none (dev tokens are real JWTs and do).
        bool anonymous = o.Identity is { Mode: FastMcp.Identity.IdentityModes.Anonymous };
        if (anonymous && o.Identity?.UpstreamCredential?.TokenExchange is not null)
            throw new ConfigurationException("identity.upstreamCredential.tokenExchange", "needs a caller token to exchange; identity.mode anonymous has none (use oidc or dev)");
        // Only bearer tokens are exchanged: with DPoP-bound tokens required, no caller would ever get through.
        bool dpopOnly = o.Identity is { Dpop.Required: true } && !anonymous;
        if (dpopOnly && o.Identity?.UpstreamCredential?.TokenExchange is not null)
            throw new ConfigurationException("identity.upstreamCredential.tokenExchange", DpopOnlyExchange);
        if (o.Upstream.Credential is not null)
            throw new ConfigurationException("upstream.credential", "the default upstream's credential is identity.upstreamCredential; set it there");

        if (o.Upstreams is null) throw new ConfigurationException("upstreams", "must be an object mapping names to upstreams");
        if (o.Routes is null) throw new ConfigurationException("routes", "must be a list");
        foreach ((string name, UpstreamOptions? upstream) in o.Upstreams)
        {
            string field = $"upstreams.{name}";
            if (!IsValidName(name))
                throw new ConfigurationException(field, "a name is 1 to 64 letters, digits, '-' or '_' (it appears in metrics labels and policy rules)");
            if (name == DefaultUpstreamName)
                throw new ConfigurationException(field, $"'{DefaultUpstreamName}' is the name of the upstream of \"upstream\" + \"endpointPath\"; pick another");
            if (upstream is null) throw new ConfigurationException(field, "must be an object");
            if (string.IsNullOrEmpty(upstream.Url) && upstream.Stdio is null)
                throw new ConfigurationException($"{field}.url", "required (an http(s) URL), or set stdio to run a local server");
            if (!string.IsNullOrEmpty(upstream.Url)) UpstreamUrl.Parse(upstream.Url, $"{field}.url");
            ValidateSettings(upstream, field);
            if (upstream.Credential is { IsConfigured: false })
                throw new ConfigurationException($"{field}.credential", "needs valueFile, valueEnv, oauth or tokenExchange (or leave the credential out)");
            if (anonymous && upstream.Credential?.TokenExchange is not null)
                throw new ConfigurationException($"{field}.credential.tokenExchange", "needs a caller token to exchange; identity.mode anonymous has none (use oidc or dev)");
            if (dpopOnly && upstream.Credential?.TokenExchange is not null)
                throw new ConfigurationException($"{field}.credential.tokenExchange", DpopOnlyExchange);
            if (upstream.Credential is { } c && string.IsNullOrWhiteSpace(c.HeaderName))
                throw new ConfigurationException($"{field}.credential.headerName", "must not be empty");
            ForwardHeadersValidation.Validate(upstream, field, upstream.Credential?.HeaderName);
        }

        var paths = new HashSet<string>(StringComparer.Ordinal);
        if (HasDefaultRoute(o)) paths.Add(o.EndpointPath);
        var used = new HashSet<string>(StringComparer.Ordinal);
        var plain = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < o.Routes.Count; i++)
        {
            string field = $"routes[{i}]";
            RouteOptions route = o.Routes[i] ?? throw new ConfigurationException(field, "must be an object");
            if (string.IsNullOrEmpty(route.Path) || route.Path[0] != '/' || route.Path.Contains('?') || route.Path.Contains('#') || !IsAscii(route.Path))
                throw new ConfigurationException($"{field}.path", "must start with '/', be ASCII and hold no query or fragment");
            if (!paths.Add(route.Path))
                throw new ConfigurationException($"{field}.path", route.Path == o.EndpointPath && HasDefaultRoute(o)
                    ? $"'{route.Path}' is endpointPath, the default route's path"
                    : $"'{route.Path}' is the path of another route");
            if (route.Federate is not null)
            {
                ValidateFederation(o, route, field, used);
                continue;
            }
            if (string.IsNullOrEmpty(route.Upstream))
                throw new ConfigurationException($"{field}.upstream", "required: the name of an upstream in \"upstreams\" (or \"federate\": a list of them)");
            if (!o.Upstreams.ContainsKey(route.Upstream))
                throw new ConfigurationException($"{field}.upstream", $"no upstream named '{route.Upstream}'"
                    + (o.Upstreams.Count == 0 ? " (\"upstreams\" is empty)" : $" (\"upstreams\" has {string.Join(", ", o.Upstreams.Keys)})"));
            used.Add(route.Upstream);
            plain.Add(route.Upstream);
        }
        foreach ((string name, UpstreamOptions upstream) in o.Upstreams)
        {
            if (!used.Contains(name)) throw new ConfigurationException($"upstreams.{name}", "no route uses it (add a route, or remove it)");
            // Said rather than silently ignored: an operator who turned it on expects cookies to pass somewhere.
            if (upstream.ForwardCookies && !plain.Contains(name))
                throw new ConfigurationException($"upstreams.{name}.forwardCookies",
                    "has no effect: only federated routes use this upstream, and a federated path passes no cookies (docs/configuration.md)");
            if (upstream.ForwardHeaders is { Count: > 0 } && !plain.Contains(name))
                throw new ConfigurationException($"upstreams.{name}.forwardHeaders",
                    "has no effect: only federated routes use this upstream, and a federated path passes none of the client's other header fields (docs/configuration.md)");
        }
    }

    /// <summary>
    /// A federated route names two or more distinct upstreams and a separator that appears in none of their names, so
    /// "name + separator" prefixes can never collide: which upstream a prefixed name belongs to is never ambiguous.
    /// </summary>
    private static void ValidateFederation(GatewayOptions o, RouteOptions route, string field, HashSet<string> used)
    {
        if (!string.IsNullOrEmpty(route.Upstream))
            throw new ConfigurationException($"{field}.upstream", "a route has either \"upstream\" or \"federate\", not both");
        if (o.Passthrough)
            throw new ConfigurationException($"{field}.federate", "not available in pass-through mode (federation reads every message)");
        // One member is allowed: a gateway-held session and prefixed names in front of a single server (and how a
        // federated endpoint is checked against the same server on a plain route).
        if (route.Federate!.Count < 1) throw new ConfigurationException($"{field}.federate", "names at least one upstream");
        if (string.IsNullOrEmpty(route.Separator) || route.Separator.Length > 8 || !IsAscii(route.Separator))
            throw new ConfigurationException($"{field}.separator", "1 to 8 printable ASCII characters without spaces");
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int j = 0; j < route.Federate.Count; j++)
        {
            string name = route.Federate[j];
            string at = $"{field}.federate[{j}]";
            if (string.IsNullOrEmpty(name) || !o.Upstreams.ContainsKey(name))
                throw new ConfigurationException(at, $"no upstream named '{name}'");
            if (!seen.Add(name)) throw new ConfigurationException(at, $"'{name}' is named twice");
            if (name.Contains(route.Separator, StringComparison.Ordinal))
                throw new ConfigurationException(at, $"the upstream name '{name}' contains the separator '{route.Separator}': its prefixed names would be ambiguous");
            used.Add(name);
        }
        foreach (string a in seen)
        {
            foreach (string b in seen)
            {
                if (a != b && (b + route.Separator).StartsWith(a + route.Separator, StringComparison.Ordinal))
                    throw new ConfigurationException($"{field}.federate", $"the prefixes '{a}{route.Separator}' and '{b}{route.Separator}' collide");
            }
        }
    }

    private static void ValidateSettings(UpstreamOptions u, string field)
    {
        if (u.Stdio is not null && !string.IsNullOrEmpty(u.Url))
            throw new ConfigurationException($"{field}.stdio", $"cannot be set together with {field}.url (one upstream: an http URL or a command to run)");
        u.Stdio?.Validate($"{field}.stdio");
        if (u.ConnectTimeoutMs <= 0) throw new ConfigurationException($"{field}.connectTimeoutMs", "must be greater than 0");
        if (u.ResponseTimeoutMs <= 0) throw new ConfigurationException($"{field}.responseTimeoutMs", "must be greater than 0");
        if (u.MaxIdleConnections < 0) throw new ConfigurationException($"{field}.maxIdleConnections", "must not be negative");
        if (u.ProbeIntervalMs < 0) throw new ConfigurationException($"{field}.probeIntervalMs", "must not be negative (0 disables the probe)");
        TlsValidation.ValidateUpstream(u, field);
    }

    private static bool IsValidName(string name)
    {
        if (name.Length is 0 or > 64) return false;
        foreach (char c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_')) return false;
        }
        return true;
    }

    private static bool IsAscii(string s)
    {
        foreach (char c in s)
        {
            if (c is <= ' ' or > '~') return false;
        }
        return true;
    }
}
