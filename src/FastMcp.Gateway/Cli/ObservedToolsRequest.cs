using System.Text.Json;
using FastMcp.Text;

namespace FastMcp.Gateway.Cli;

/// <summary>
/// GET /tools/observed on a gateway's admin listener, for `tools pin` and `tools diff`: the admin URL and token as
/// both take them, no redirect followed, and every failure said on stderr with the exit code it earns (1 the gateway
/// refused, 2 a usage or connection error or an answer that is not the view).
/// </summary>
internal static class ObservedToolsRequest
{
    /// <summary>--admin, else $FASTMCP_ADMIN_URL, else the default admin listener; refused unless it is an http(s) URL.</summary>
    public static string AdminUrl(CommandLine cl)
    {
        string admin = (cl.Get("--admin") ?? Environment.GetEnvironmentVariable("FASTMCP_ADMIN_URL") ?? "http://127.0.0.1:9090").TrimEnd('/');
        if (!Uri.TryCreate(admin, UriKind.Absolute, out Uri? uri) || uri.Scheme is not ("http" or "https"))
            throw new UsageException($"--admin: '{admin}' is not an http(s) URL");
        return admin;
    }

    /// <summary>The parsed view (the caller disposes it), or null with <paramref name="exit"/> set and the reason said on <paramref name="stderr"/>.</summary>
    public static async Task<(JsonDocument? View, int Exit)> GetAsync(string admin, string? token, TextWriter stderr)
    {
        byte[] answer;
        // A redirect would carry the operator's token to wherever it points, and its answer would become the pins: none is followed.
        using (var http = new HttpClient(FastMcp.Http.RedirectRefusal.Handler()) { Timeout = TimeSpan.FromSeconds(30) })
        {
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, admin + "/tools/observed");
                if (!string.IsNullOrEmpty(token)) request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
                using HttpResponseMessage response = await http.SendAsync(request).ConfigureAwait(false);
                if (FastMcp.Http.RedirectRefusal.IsRedirect(response.StatusCode))
                {
                    stderr.WriteLine(PrintableText.Escape($"fastmcp tools: {FastMcp.Http.RedirectRefusal.Describe(admin + "/tools/observed", response.StatusCode)}"));
                    return (null, 2);
                }
                answer = await response.Content.ReadAsByteArrayAsync().ConfigureAwait(false);
                if (!response.IsSuccessStatusCode)
                {
                    stderr.WriteLine(PrintableText.Escape($"fastmcp tools: the gateway refused: {(int)response.StatusCode}: {System.Text.Encoding.UTF8.GetString(answer)}"));
                    return (null, 1);
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                stderr.WriteLine(PrintableText.Escape($"fastmcp tools: cannot reach {admin}: {FastMcp.Http.PlainError.Describe(e)}"));
                return (null, 2);
            }
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(answer);
        }
        catch (JsonException)
        {
            stderr.WriteLine("fastmcp tools: the gateway answered something that is not JSON");
            return (null, 2);
        }
        if (document.RootElement.ValueKind != JsonValueKind.Object || !document.RootElement.TryGetProperty("upstreams"u8, out JsonElement upstreams) || upstreams.ValueKind != JsonValueKind.Object)
        {
            document.Dispose();
            stderr.WriteLine("fastmcp tools: the gateway's answer has no \"upstreams\" object");
            return (null, 2);
        }
        return (document, 0);
    }
}
