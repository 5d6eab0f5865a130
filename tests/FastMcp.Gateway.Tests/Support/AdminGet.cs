using System.Net;

namespace FastMcp.Gateway.Tests.Support;

/// <summary>One GET on the admin listener (/metrics, /readyz) on a fresh connection.</summary>
internal static class AdminGet
{
    public static async Task<string> TextAsync(IPEndPoint admin, string path)
    {
        using RawClient client = await RawClient.ConnectAsync(admin);
        await client.SendAsync($"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
        RawResponse r = await client.ReadResponseAsync(path);
        if (r.Status != 200) throw new Xunit.Sdk.XunitException($"GET {path}: {r.Status}");
        return r.Body;
    }
}
