using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace FastMcp.Gateway.Tests.Support;

/// <summary>Requests to a <see cref="PolicyGateway"/>'s admin API over a real socket, as an approver's tool sends them.</summary>
internal static class AdminRequests
{
    /// <summary>Sends <paramref name="body"/> (JSON, or none) with <paramref name="token"/> and returns the status and the parsed answer.</summary>
    public static async Task<(HttpStatusCode Status, JsonElement Body)> AdminAsync(PolicyGateway g, HttpMethod method, string path, string? body, string token)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        using var request = new HttpRequestMessage(method, new Uri($"http://127.0.0.1:{g.Gateway.AdminEndpoint.Port}{path}"));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        if (body is not null) request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        using HttpResponseMessage response = await http.SendAsync(request);
        using JsonDocument document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return (response.StatusCode, document.RootElement.Clone());
    }
}
