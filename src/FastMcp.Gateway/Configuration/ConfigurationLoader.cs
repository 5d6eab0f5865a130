using System.Text.Json;

namespace FastMcp.Gateway.Configuration;

/// <summary>Reads the JSON configuration file (or the embedded defaults) and validates it.</summary>
public static class ConfigurationLoader
{
    public static GatewayOptions Load(string? path)
    {
        GatewayOptions options;
        if (string.IsNullOrEmpty(path))
        {
            options = new GatewayOptions();
        }
        else
        {
            byte[] bytes;
            try
            {
                bytes = File.ReadAllBytes(path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Our words, not e.Message: the AOT binary's framework messages are resource keys.
                throw new ConfigurationException("(file)", $"cannot read '{path}': {FastMcp.Http.PlainError.Describe(e, path)}");
            }
            try
            {
                options = Parse(bytes);
            }
            catch (ConfigurationException e)
            {
                throw new ConfigurationException(e.Field, $"{path}: {e.Problem}");
            }
        }
        Validate(options);
        return options;
    }

    public static GatewayOptions Parse(ReadOnlySpan<byte> json)
    {
        if (ConfigurationJsonErrors.Syntax(json) is { } syntax) throw syntax;
        try
        {
            return JsonSerializer.Deserialize(json, GatewayJsonContext.Default.GatewayOptions)
                ?? throw new ConfigurationException("$", "the file holds null, expected an object");
        }
        catch (JsonException e)
        {
            // Well-formed JSON the options refuse: an unknown field or a value of the wrong type, named by its path.
            throw ConfigurationJsonErrors.Shape(e, GatewayJsonContext.Default.GatewayOptions);
        }
    }

    public static void Validate(GatewayOptions o)
    {
        if (o.Listen is null || o.Listen.Count == 0) throw new ConfigurationException("listen", "at least one listen address is required");
        for (int i = 0; i < o.Listen.Count; i++) ListenAddress.Parse(o.Listen[i], $"listen[{i}]");
        if (string.IsNullOrEmpty(o.EndpointPath) || o.EndpointPath[0] != '/' || o.EndpointPath.Contains('?'))
            throw new ConfigurationException("endpointPath", "must start with '/' and hold no query");
        if (o.PublicScheme is not ("http" or "https")) throw new ConfigurationException("publicScheme", "must be http or https");

        // upstream, upstreams and routes (docs/configuration.md, "Routes and federation").
        RouteValidation.Validate(o);
        TlsValidation.ValidateListener(o.Tls, o.ClientAddress);

        if (o.Threads is null) throw new ConfigurationException("threads", "must be an object");
        if (o.Threads.SocketLoops is < 0 or > Transport.Epoll.ReadinessEngine.MaxLoops)
            throw new ConfigurationException("threads.socketLoops", $"must be between 0 (one per core) and {Transport.Epoll.ReadinessEngine.MaxLoops}");
        Transport.ThreadScheduling.Parse(o.Threads.Scheduling, Transport.ThreadScheduling.Field);

        if (o.Admin is null) throw new ConfigurationException("admin", "must be an object");
        o.Admin.Validate();

        if (o.Limits is null) throw new ConfigurationException("limits", "must be an object");
        Range(o.Limits.MaxHeadBytes, 1024, 1024 * 1024, "limits.maxHeadBytes");
        Range(o.Limits.MaxHeaderCount, 8, 1000, "limits.maxHeaderCount");
        Range(o.Limits.MaxTargetLength, 64, o.Limits.MaxHeadBytes, "limits.maxTargetLength");
        if (o.Limits.MaxRequestBodyBytes < 1024 || o.Limits.MaxRequestBodyBytes > 1L << 30)
            throw new ConfigurationException("limits.maxRequestBodyBytes", "must be between 1024 and 1073741824");
        Range(o.Limits.MaxConnections, 1, 1_000_000, "limits.maxConnections");
        if (o.Limits.ReservedAuthenticatedConnections is int reserve && (reserve < 0 || reserve >= o.Limits.MaxConnections))
            throw new ConfigurationException("limits.reservedAuthenticatedConnections", "must be at least 0 and below limits.maxConnections");
        if (o.Limits.MaxBufferedResponseBytes < 64 * 1024 || o.Limits.MaxBufferedResponseBytes > 1L << 30)
            throw new ConfigurationException("limits.maxBufferedResponseBytes", "must be between 65536 and 1073741824");
        if (o.Limits.MaxResponseMessageBytes < 1024 || o.Limits.MaxResponseMessageBytes > 1L << 30)
            throw new ConfigurationException("limits.maxResponseMessageBytes", "must be between 1024 and 1073741824");

        if (o.Timeouts is null) throw new ConfigurationException("timeouts", "must be an object");
        Positive(o.Timeouts.RequestHeadersMs, "timeouts.requestHeadersMs");
        Positive(o.Timeouts.RequestBodyMs, "timeouts.requestBodyMs");
        Positive(o.Timeouts.KeepAliveMs, "timeouts.keepAliveMs");
        Positive(o.Timeouts.FirstRequestMs, "timeouts.firstRequestMs");
        Positive(o.Timeouts.ClientWriteMs, "timeouts.clientWriteMs");
        Positive(o.Timeouts.ShutdownMs, "timeouts.shutdownMs");

        if (o.FailedAuthentication is null) throw new ConfigurationException("failedAuthentication", "must be an object");
        Range(o.FailedAuthentication.PerMinute, 1, 1_000_000, "failedAuthentication.perMinute");
        Range(o.FailedAuthentication.Burst, 1, 1_000_000, "failedAuthentication.burst");
        Range(o.FailedAuthentication.RecordIntervalSeconds, 1, 3600, "failedAuthentication.recordIntervalSeconds");
        Range(o.FailedAuthentication.MaxTrackedSources, 100, 10_000_000, "failedAuthentication.maxTrackedSources");

        if (o.Sessions is null) throw new ConfigurationException("sessions", "must be an object");
        if (o.Sessions.Unknown is not ("refuse" or "forward")) throw new ConfigurationException("sessions.unknown", "must be \"refuse\" or \"forward\"");
        Range(o.Sessions.MaxPerUpstream, 100, 10_000_000, "sessions.maxPerUpstream");
        Range(o.Sessions.MaxPerCaller, 1, 10_000_000, "sessions.maxPerCaller");
        Range(o.Sessions.RecordIntervalSeconds, 1, 3600, "sessions.recordIntervalSeconds");

        if (o.Tasks is null) throw new ConfigurationException("tasks", "must be an object");
        Range(o.Tasks.MaxPerUpstream, 100, 10_000_000, "tasks.maxPerUpstream");
        Range(o.Tasks.MaxPerCaller, 1, 10_000_000, "tasks.maxPerCaller");

        Clients.ClientAddressing.Validate(o.ClientAddress);
        RateLimiting.RateLimits.Validate(o.RateLimits);
        if (o.Metrics?.Tools is null) throw new ConfigurationException("metrics.tools", "must be a list");
        if (o.Metrics.Tools.Count > 1000) throw new ConfigurationException("metrics.tools", "at most 1000 names (each is a set of time series)");
        for (int i = 0; i < o.Metrics.Tools.Count; i++)
        {
            if (string.IsNullOrEmpty(o.Metrics.Tools[i]) || o.Metrics.Tools[i] == "other")
                throw new ConfigurationException($"metrics.tools[{i}]", "must be a tool name (not empty, not \"other\")");
        }

        if (o.Origins is null) throw new ConfigurationException("origins", "must be an object");
        for (int i = 0; i < o.Origins.AllowedOrigins.Count; i++)
        {
            string s = o.Origins.AllowedOrigins[i];
            if (!(s.StartsWith("http://", StringComparison.Ordinal) || s.StartsWith("https://", StringComparison.Ordinal)) || s.EndsWith('/'))
                throw new ConfigurationException($"origins.allowedOrigins[{i}]", $"'{s}' must be scheme://host[:port] with no path");
        }
        for (int i = 0; i < o.Origins.AllowedHosts.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(o.Origins.AllowedHosts[i]) || o.Origins.AllowedHosts[i].Contains('/'))
                throw new ConfigurationException($"origins.allowedHosts[{i}]", "must be host[:port]");
        }

        if (o.Log is null) throw new ConfigurationException("log", "must be an object");
        o.Log.Validate();

        if (o.Tracing is null) throw new ConfigurationException("tracing", "must be an object");
        o.Tracing.Validate();

        if (o.Approvals is null) throw new ConfigurationException("approvals", "must be an object");
        o.Approvals.Validate();
    }

    private static void Positive(int value, string field)
    {
        if (value <= 0) throw new ConfigurationException(field, "must be greater than 0");
    }

    private static void Range(int value, int min, int max, string field)
    {
        if (value < min || value > max) throw new ConfigurationException(field, $"must be between {min} and {max}");
    }
}
