using System.Net;

namespace FastMcp.Gateway.Tests.Support;

/// <summary>One GET on the admin listener (/metrics, /readyz) on a fresh connection.</summary>
internal static class AdminGet
{
    /// <summary>The body of a 200 answer; <paramref name="token"/>: sent as a bearer token (/tools/observed needs an operator's).</summary>
    public static async Task<string> TextAsync(IPEndPoint admin, string path, string? token = null)
    {
        RawResponse r = await ResponseAsync(admin, path, token is null ? "" : $"Authorization: Bearer {token}\r\n");
        if (r.Status != 200) throw new Xunit.Sdk.XunitException($"GET {path}: {r.Status}");
        return r.Body;
    }

    /// <summary>The answer to a GET of <paramref name="path"/> with <paramref name="headerLines"/> (each ending in CRLF), whatever its status.</summary>
    public static async Task<RawResponse> ResponseAsync(IPEndPoint admin, string path, string headerLines = "")
    {
        using RawClient client = await RawClient.ConnectAsync(admin);
        await client.SendAsync($"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{admin.Port}\r\n{headerLines}Connection: close\r\n\r\n");
        return await client.ReadResponseAsync(path);
    }

    /// <summary>The value of one series of /metrics (<c>name</c> or <c>name{labels}</c>, as written); fails when absent.</summary>
    public static async Task<long> MetricAsync(IPEndPoint admin, string series)
    {
        string metrics = await TextAsync(admin, "/metrics");
        foreach (string line in metrics.Split('\n'))
        {
            if (line.StartsWith(series + " ", StringComparison.Ordinal)) return long.Parse(line[(series.Length + 1)..], System.Globalization.CultureInfo.InvariantCulture);
        }
        throw new Xunit.Sdk.XunitException($"no {series} in /metrics:\n{metrics}");
    }
}
