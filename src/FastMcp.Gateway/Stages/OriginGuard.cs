using System.Text;
using FastMcp.Gateway.Configuration;
using FastMcp.Http;

namespace FastMcp.Gateway.Stages;

/// <summary>
/// DNS-rebinding protection: a browser page on a foreign origin must not reach the endpoint, so the
/// Origin (when present) and the Host must be on the configured allow-lists.
/// </summary>
internal sealed class OriginGuard
{
    private readonly Pattern[] _origins;
    private readonly Pattern[] _hosts;

    public OriginGuard(OriginOptions options)
    {
        _origins = Compile(options.AllowedOrigins);
        _hosts = Compile(options.AllowedHosts);
    }

    /// <summary>The request's host (an absolute-form target's authority when there is one, RFC 9112 3.2.2) and Origin are allowed.</summary>
    public bool IsAllowed(HttpRequestHead request)
    {
        HttpHeaderTable headers = request.Headers;
        if (_hosts.Length > 0 && !Matches(_hosts, request.Host)) return false;
        int originIndex = headers.IndexOf(KnownHeader.Origin);
        if (originIndex < 0) return true;
        return Matches(_origins, headers.ValueAt(originIndex));
    }

    private static bool Matches(Pattern[] patterns, ReadOnlySpan<byte> value)
    {
        foreach (Pattern p in patterns)
        {
            if (p.Matches(value)) return true;
        }
        return false;
    }

    private static Pattern[] Compile(List<string> entries)
    {
        var patterns = new Pattern[entries.Count];
        for (int i = 0; i < entries.Count; i++) patterns[i] = new Pattern(entries[i]);
        return patterns;
    }

    /// <summary>"prefix" exactly, or "prefix:*" meaning prefix with any port or none.</summary>
    private readonly struct Pattern
    {
        private readonly byte[] _prefix;
        private readonly bool _anyPort;

        public Pattern(string text)
        {
            _anyPort = text.EndsWith(":*", StringComparison.Ordinal);
            _prefix = Encoding.ASCII.GetBytes(_anyPort ? text[..^2] : text);
        }

        public bool Matches(ReadOnlySpan<byte> value)
        {
            if (value.Length < _prefix.Length || !Ascii.EqualsIgnoreCase(value[.._prefix.Length], _prefix)) return false;
            ReadOnlySpan<byte> rest = value[_prefix.Length..];
            if (rest.IsEmpty) return true;
            if (!_anyPort || rest[0] != (byte)':' || rest.Length == 1) return false;
            foreach (byte b in rest[1..])
            {
                if ((uint)(b - '0') > 9) return false;
            }
            return true;
        }
    }
}
