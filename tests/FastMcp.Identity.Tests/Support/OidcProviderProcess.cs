using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace FastMcp.Identity.Tests.Support;

/// <summary>Runs tests/node/oidc/provider.mjs (oidc-provider on 127.0.0.1, ephemeral port) and talks to it.
/// The child exits when its stdin closes; Dispose closes it and kills the process if it lingers.</summary>
internal sealed class OidcProviderProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(10) };
    private readonly StringBuilder _stderr = new();

    private OidcProviderProcess(Process process, string issuer, string kid, string clientId, string clientSecret)
    {
        _process = process;
        Issuer = issuer;
        Kid = kid;
        ClientId = clientId;
        ClientSecret = clientSecret;
    }

    public string Issuer { get; }
    public string Kid { get; private set; }
    public string ClientId { get; }
    public string ClientSecret { get; }

    public static async Task<OidcProviderProcess> StartAsync()
    {
        string nodeDir = Path.Combine(RepoPaths.Root, "tests", "node");
        if (!Directory.Exists(Path.Combine(nodeDir, "node_modules", "oidc-provider")))
            throw new InvalidOperationException($"oidc-provider is not installed: run `npm ci` in {nodeDir}");
        var psi = new ProcessStartInfo("node", Path.Combine(nodeDir, "oidc", "provider.mjs"))
        {
            WorkingDirectory = nodeDir,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var process = Process.Start(psi) ?? throw new InvalidOperationException("cannot start node");
        var stderr = new StringBuilder();
        process.ErrorDataReceived += (_, e) => { lock (stderr) stderr.AppendLine(e.Data); };
        process.BeginErrorReadLine();
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            string? line = await ReadJsonLineAsync(process, timeout.Token);
            if (line is null)
                throw new InvalidOperationException("oidc provider exited: " + stderr);
            using var doc = JsonDocument.Parse(line);
            var root = doc.RootElement;
            return new OidcProviderProcess(process, root.GetProperty("issuer").GetString()!, root.GetProperty("kid").GetString()!,
                root.GetProperty("clientId").GetString()!, root.GetProperty("clientSecret").GetString()!);
        }
        catch
        {
            process.Kill(entireProcessTree: true);
            process.Dispose();
            throw;
        }
    }

    /// <summary>Client-credentials grant with a resource indicator; returns the JWT access token.</summary>
    public async Task<string> GetTokenAsync(string resource, string scope = "mcp:tools")
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, Issuer + "/token")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["grant_type"] = "client_credentials",
                ["resource"] = resource,
                ["scope"] = scope,
            }),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.ASCII.GetBytes(ClientId + ":" + ClientSecret)));
        using var response = await _http.SendAsync(request);
        string body = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
            throw new InvalidOperationException($"token endpoint answered {(int)response.StatusCode}: {body}");
        using var doc = JsonDocument.Parse(body);
        return doc.RootElement.GetProperty("access_token").GetString()!;
    }

    /// <summary>Replaces the provider's signing key (same issuer URL); returns the new kid.</summary>
    public async Task<string> RotateKeyAsync()
    {
        await _process.StandardInput.WriteLineAsync("rotate");
        await _process.StandardInput.FlushAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        string line = await ReadJsonLineAsync(_process, timeout.Token) ?? throw new InvalidOperationException("provider exited");
        using var doc = JsonDocument.Parse(line);
        Kid = doc.RootElement.GetProperty("kid").GetString()!;
        return Kid;
    }

    // oidc-provider prints its own warnings on stdout; our protocol lines are the JSON ones.
    private static async Task<string?> ReadJsonLineAsync(Process process, CancellationToken ct)
    {
        while (await process.StandardOutput.ReadLineAsync(ct) is { } line)
            if (line.StartsWith('{'))
                return line;
        return null;
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        try
        {
            _process.StandardInput.Close();
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(3));
            await _process.WaitForExitAsync(wait.Token);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or InvalidOperationException)
        {
            if (!_process.HasExited)
                _process.Kill(entireProcessTree: true);
        }
        _process.Dispose();
    }
}
