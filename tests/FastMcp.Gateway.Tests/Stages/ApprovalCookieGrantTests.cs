using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// A grant binds the cookies the upstream gets under forwardCookies (a session, tenant or environment cookie decides
/// what the call acts on), while approvers, the webhook and the audit log see only the cookies' names and keyed MACs
/// of their values, never a value. An upstream without forwardCookies gets no cookie, so cookies do not change its digest.
/// </summary>
public sealed class ApprovalCookieGrantTests : IAsyncLifetime
{
    // The card fingerprint key, configured, so that the test can recompute the MACs the audit record carries.
    private static readonly byte[] FingerprintKey = Convert.FromHexString("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
    private const string StagingSecret = "sid-value-9f8e7d";
    private const string Staging = "staging-42a1";

    private readonly string _dir = Path.Combine(Path.GetTempPath(), "fastmcp-cookiegrant-" + Guid.NewGuid().ToString("N"));
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(30) };
    private readonly List<string> _webhookBodies = [];
    private readonly TaskCompletionSource _requestedDelivered = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private HttpListener _webhook = null!;
    private Task _receiver = Task.CompletedTask;
    private ScriptedUpstream _noCookies = null!;
    private PolicyGateway _gw = null!;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_dir);
        string keyFile = Path.Combine(_dir, "pan.key");
        await File.WriteAllTextAsync(keyFile, Convert.ToHexString(FingerprintKey));
        string secretFile = Path.Combine(_dir, "webhook.secret");
        await File.WriteAllTextAsync(secretFile, "webhook-secret-for-the-cookie-test");
        int port = UnusedPort.Pick();
        _webhook = new HttpListener();
        _webhook.Prefixes.Add($"http://127.0.0.1:{port}/hook/");
        _webhook.Start();
        _receiver = ReceiveAsync();
        _noCookies = new ScriptedUpstream(UpstreamScripts.Echo);
        // An answer that does not echo the request head: the audit log must hold no cookie value the gateway wrote itself.
        _gw = await PolicyGateway.StartAsync(x => x.RespondJsonAsync("{\"jsonrpc\":\"2.0\",\"id\":" + x.Request.IdJson() + ",\"result\":{\"content\":[]}}"),
            [
                new RuleOptions { Name = "echo-grant", Action = "require_approval", Methods = ["tools/call"], Names = ["echo"], Approvers = ["release"], ApprovalMode = "grant" },
                new RuleOptions { Name = "rest", Action = "allow" },
            ],
            o =>
            {
                o.Upstream.ForwardCookies = true;
                o.Upstreams["plain"] = new Configuration.UpstreamOptions { Url = _noCookies.Url };
                o.Routes = [new Configuration.RouteOptions { Path = "/mcp/plain", Upstream = "plain" }];
                o.Masking.FingerprintKeyFile = keyFile;
                o.Approvals.Webhook = new Approvals.WebhookOptions { Url = $"http://127.0.0.1:{port}/hook/", SecretFile = secretFile, MaxAttempts = 1 };
            });
    }

    /// <summary>Takes webhook deliveries until the listener stops (each one ends the wait for it, never the loop).</summary>
    private async Task ReceiveAsync()
    {
        while (_webhook.IsListening)
        {
            HttpListenerContext context;
            try { context = await _webhook.GetContextAsync(); }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException) { return; }
            using var body = new MemoryStream();
            await context.Request.InputStream.CopyToAsync(body);
            string text = Encoding.UTF8.GetString(body.ToArray());
            lock (_webhookBodies) _webhookBodies.Add(text);
            if (context.Request.Headers["X-FastMcp-Event"] == "approval.requested") _requestedDelivered.TrySetResult();
            context.Response.StatusCode = 204;
            context.Response.Close();
        }
    }

    private static string EchoCall(int id) => "{\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"method\":\"tools/call\",\"params\":{\"name\":\"echo\",\"arguments\":{\"message\":\"hi\"}}}";

    private async Task<RawResponse> CallAsync(int id, string cookieLines, string path = "/mcp") =>
        await _gw.PostAsync(EchoCall(id), _gw.Token("alice", "dev"), cookieLines, path);

    private static string? PendingId(RawResponse answer)
    {
        using JsonDocument document = JsonDocument.Parse(answer.BodyBytes);
        if (!document.RootElement.TryGetProperty("error", out JsonElement error)) return null;
        Assert.Equal(-32002, error.GetProperty("code").GetInt32());
        return error.GetProperty("data").GetProperty("approvalId").GetString();
    }

    private async Task<(HttpStatusCode Status, string Body)> AdminAsync(HttpMethod method, string path, string? body)
    {
        using var request = new HttpRequestMessage(method, new Uri($"http://127.0.0.1:{_gw.Gateway.AdminEndpoint.Port}{path}"));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _gw.Token("bob", "release"));
        if (body is not null) request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        using HttpResponseMessage response = await _http.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private static string Mac(string value)
    {
        byte[] cookieKey = HMACSHA256.HashData(FingerprintKey, "fastmcp approval cookie v1"u8);
        return Convert.ToHexStringLower(HMACSHA256.HashData(cookieKey, Encoding.UTF8.GetBytes(value)));
    }

    [Fact]
    public async Task A_grant_admits_the_identical_call_only_with_the_cookies_it_was_asked_with_and_nobody_sees_a_value()
    {
        string id = PendingId(await CallAsync(1, $"Cookie: env={Staging}; sid={StagingSecret}\r\n"))!;
        Assert.NotNull(id);

        var (approved, afterVote) = await AdminAsync(HttpMethod.Post, $"/approvals/{id}/approve", "{}");
        Assert.Equal(HttpStatusCode.OK, approved);

        // Another value, no cookie, one cookie less, or the same name's values in another order: other calls.
        string[] others =
        [
            $"Cookie: env=production-42a1; sid={StagingSecret}\r\n",
            "",
            $"Cookie: env={Staging}\r\n",
            $"Cookie: env={Staging}; sid={StagingSecret}; env=production-42a1\r\n",
            $"Cookie2: env={Staging}; sid={StagingSecret}\r\n",
        ];
        int next = 2;
        foreach (string cookies in others)
        {
            string? other = PendingId(await CallAsync(next++, cookies));
            Assert.NotNull(other);
            Assert.NotEqual(id, other);
        }
        Assert.Empty(_gw.Upstream.Requests);

        // The same pairs in another order, or split over two Cookie fields (RFC 9113 8.2.3 joins them with "; "): admitted.
        RawResponse same = await CallAsync(20, $"Cookie: sid={StagingSecret};env={Staging}\r\n");
        Assert.Null(PendingId(same));
        Assert.Equal("20", same.IdJson());
        RawResponse split = await CallAsync(21, $"cookie: env={Staging}\r\nCookie: sid={StagingSecret}\r\n");
        Assert.Null(PendingId(split));
        Assert.Equal(2, _gw.Upstream.Requests.Count);
        Assert.Equal($"sid={StagingSecret};env={Staging}", _gw.Upstream.Requests.First().Header("Cookie"));

        // Approvers see that cookies are bound, and their names; no value, in any answer.
        var (shown, view) = await AdminAsync(HttpMethod.Get, $"/approvals/{id}", null);
        Assert.Equal(HttpStatusCode.OK, shown);
        using (JsonDocument document = JsonDocument.Parse(view)) Assert.Equal("env,sid", document.RootElement.GetProperty("cookies").GetString());
        var (listed, list) = await AdminAsync(HttpMethod.Get, "/approvals?state=all", null);
        Assert.Equal(HttpStatusCode.OK, listed);
        // fastmcp approvals show prints the names, saying the values are bound.
        string tokenFile = Path.Combine(_dir, "bob.token");
        await File.WriteAllTextAsync(tokenFile, _gw.Token("bob", "release"));
        var printed = new StringWriter();
        int exit = await Cli.ApprovalsCommand.RunAsync(["show", id, "--admin", $"http://127.0.0.1:{_gw.Gateway.AdminEndpoint.Port}", "--token-file", tokenFile],
            printed, new StringWriter());
        Assert.Equal(0, exit);
        Assert.Contains("cookies    env,sid (values bound, not shown)", printed.ToString(), StringComparison.Ordinal);
        foreach (string answer in new[] { view, list, afterVote, printed.ToString() })
        {
            Assert.DoesNotContain(Staging, answer, StringComparison.Ordinal);
            Assert.DoesNotContain(StagingSecret, answer, StringComparison.Ordinal);
        }

        // The webhook announced it with the names only.
        await _requestedDelivered.Task.WaitAsync(TimeSpan.FromSeconds(30));
        string requested;
        lock (_webhookBodies) requested = _webhookBodies.First(b => b.Contains("\"approval.requested\"", StringComparison.Ordinal) && b.Contains(id, StringComparison.Ordinal));
        using (JsonDocument delivery = JsonDocument.Parse(requested))
            Assert.Equal("env,sid", delivery.RootElement.GetProperty("approval").GetProperty("cookies").GetString());
        lock (_webhookBodies)
        {
            foreach (string body in _webhookBodies)
            {
                Assert.DoesNotContain(Staging, body, StringComparison.Ordinal);
                Assert.DoesNotContain(StagingSecret, body, StringComparison.Ordinal);
            }
        }

        // The audit record carries the cookies line (keyed MACs): an auditor holding the fingerprint key can check it.
        string[] records = await _gw.StopAndReadAuditAsync();
        string all = string.Join('\n', records);
        Assert.DoesNotContain(Staging, all, StringComparison.Ordinal);
        Assert.DoesNotContain(StagingSecret, all, StringComparison.Ordinal);
        JsonElement record = records.Select(l => JsonDocument.Parse(l).RootElement.Clone())
            .Single(r => r.GetProperty("type").GetString() == "ApprovalRequested" && r.GetProperty("detail").GetString()!.Contains(id, StringComparison.Ordinal));
        Assert.EndsWith($"; cookies env={Mac(Staging)},sid={Mac(StagingSecret)}", record.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cookies_an_upstream_does_not_get_do_not_change_its_digest()
    {
        string id = PendingId(await CallAsync(1, $"Cookie: env={Staging}\r\n", "/mcp/plain"))!;
        Assert.NotNull(id);
        var (shown, view) = await AdminAsync(HttpMethod.Get, $"/approvals/{id}", null);
        Assert.Equal(HttpStatusCode.OK, shown);
        using (JsonDocument document = JsonDocument.Parse(view)) Assert.Equal("", document.RootElement.GetProperty("cookies").GetString());
        var (approved, _) = await AdminAsync(HttpMethod.Post, $"/approvals/{id}/approve", "{}");
        Assert.Equal(HttpStatusCode.OK, approved);

        // Whatever cookie comes with it, none reaches this upstream: the same call.
        Assert.Null(PendingId(await CallAsync(2, "Cookie: env=production-42a1\r\n", "/mcp/plain")));
        Assert.Null(PendingId(await CallAsync(3, "", "/mcp/plain")));
        Assert.Equal(2, _noCookies.Requests.Count);
        Assert.All(_noCookies.Requests, r => Assert.Null(r.Header("Cookie")));
    }

    public async Task DisposeAsync()
    {
        await _gw.DisposeAsync();
        await _noCookies.DisposeAsync();
        _webhook.Stop();
        _webhook.Close();
        await _receiver.WaitAsync(TimeSpan.FromSeconds(10));
        _http.Dispose();
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }
}
