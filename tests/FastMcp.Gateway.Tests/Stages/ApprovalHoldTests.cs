using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using FastMcp.Audit;
using FastMcp.Gateway.Approvals;
using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Demo;
using FastMcp.Gateway.Hosting;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Identity;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// Held calls over real sockets in front of the demo MCP server: a client that reads only JSON,
/// a client that leaves while held, and the admin API's refusals of bad input.
/// </summary>
public sealed class ApprovalHoldTests : IAsyncLifetime
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "fastmcp-approvals-" + Guid.NewGuid().ToString("N"));
    private DemoMcpServer _demo = null!;
    private GatewayUnderTest _gateway = null!;
    private HttpClient _http = null!;
    private string _alice = "", _bob = "", _frank = "";

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_dir);
        _demo = new DemoMcpServer(new IPEndPoint(IPAddress.Loopback, 0));
        _gateway = await GatewayUnderTest.StartWithStagesAsync(_demo.Url, options =>
        {
            options.Identity = new IdentityOptions { Mode = IdentityModes.Dev, Resource = "http://127.0.0.1/mcp", DevKeyDirectory = Path.Combine(_dir, "dev") };
            options.Policy = new PolicyOptions
            {
                Rules =
                [
                    new RuleOptions { Name = "echo-held", Action = "require_approval", Methods = ["tools/call"], Names = ["echo"], Approvers = ["release"] },
                    new RuleOptions { Name = "add-finance", Action = "require_approval", Methods = ["tools/call"], Names = ["add"], Approvers = ["finance"] },
                    new RuleOptions { Name = "rest", Action = "allow" },
                ],
            };
            options.Approvals.KeepAliveSeconds = 1;
            options.Audit = new AuditOptions { Directory = Path.Combine(_dir, "audit"), ChainId = "test" };
        });
        using DevKey key = DevKeys.LoadOrCreate(Path.Combine(_dir, "dev"));
        _alice = key.Mint("alice", ["dev"], [], null, DevKeys.Audience, DateTimeOffset.UtcNow, TimeSpan.FromMinutes(10));
        _bob = key.Mint("bob", ["release"], [], null, DevKeys.Audience, DateTimeOffset.UtcNow, TimeSpan.FromMinutes(10));
        _frank = key.Mint("frank", ["finance"], [], null, DevKeys.Audience, DateTimeOffset.UtcNow, TimeSpan.FromMinutes(10));
        _http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
    }

    private Uri Mcp => new($"http://127.0.0.1:{_gateway.Host.Endpoints[0].Port}/mcp");
    private Uri Admin(string path) => new($"http://127.0.0.1:{_gateway.Host.AdminEndpoint!.Port}{path}");

    private const string EchoCall = """{"jsonrpc":"2.0","id":"held-1","method":"tools/call","params":{"name":"echo","arguments":{"message":"hello"}}}""";

    private async Task<PendingApproval> WaitForPendingAsync()
    {
        for (int i = 0; i < 300; i++)
        {
            List<PendingApproval> pending = _gateway.Stages.Approvals!.List(includeDecided: false);
            if (pending.Count > 0) return pending[0];
            await Task.Delay(50);
        }
        throw new TimeoutException("no pending approval appeared");
    }

    private async Task<(HttpStatusCode, string)> AdminAsync(HttpMethod method, string path, string? body, string? token)
    {
        using var request = new HttpRequestMessage(method, Admin(path));
        if (token is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        if (body is not null) request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        using HttpResponseMessage response = await _http.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_client_that_reads_only_json_waits_and_then_gets_the_upstream_answer()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, Mcp) { Content = new StringContent(EchoCall, Encoding.UTF8, "application/json") };
        request.Headers.Accept.ParseAdd("application/json");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _alice);
        Task<HttpResponseMessage> call = _http.SendAsync(request);

        PendingApproval pending = await WaitForPendingAsync();
        await Task.Delay(1200);
        Assert.False(call.IsCompleted, "the held call was answered before a decision");
        var (status, _) = await AdminAsync(HttpMethod.Post, $"/approvals/{pending.Id}/approve", "{}", _bob);
        Assert.Equal(HttpStatusCode.OK, status);

        using HttpResponseMessage response = await call.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using JsonDocument answer = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("held-1", answer.RootElement.GetProperty("id").GetString());
        Assert.Equal("hello", answer.RootElement.GetProperty("result").GetProperty("content")[0].GetProperty("text").GetString());
        // Marked executed when the upstream answered, before that answer left for the client.
        Assert.Equal(ApprovalState.Executed, pending.State);
        Assert.Equal(1, pending.Executions);
    }

    [Fact]
    public async Task A_client_that_leaves_while_held_cancels_its_approval()
    {
        using (var socket = new TcpClient())
        {
            await socket.ConnectAsync(IPAddress.Loopback, _gateway.Host.Endpoints[0].Port);
            byte[] body = Encoding.UTF8.GetBytes(EchoCall);
            string head = $"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {_alice}\r\nContent-Type: application/json\r\n"
                + $"Accept: application/json, text/event-stream\r\nContent-Length: {body.Length}\r\n\r\n";
            await socket.GetStream().WriteAsync(Encoding.ASCII.GetBytes(head));
            await socket.GetStream().WriteAsync(body);
            await WaitForPendingAsync();
        }
        PendingApproval approval = _gateway.Stages.Approvals!.List(includeDecided: true)[0];
        await approval.Outcome.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(ApprovalState.Cancelled, approval.State);
        Assert.Contains("disconnected", approval.Reason);

        // Approving it afterwards changes nothing.
        var (status, _) = await AdminAsync(HttpMethod.Post, $"/approvals/{approval.Id}/approve", "{}", _bob);
        Assert.Equal(HttpStatusCode.Conflict, status);
    }

    [Fact]
    public async Task A_request_pipelined_behind_a_held_one_waits_its_turn_and_is_answered()
    {
        using var socket = new TcpClient();
        await socket.ConnectAsync(IPAddress.Loopback, _gateway.Host.Endpoints[0].Port);
        NetworkStream stream = socket.GetStream();
        string Request(string json) => $"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {_alice}\r\nContent-Type: application/json\r\n"
            + $"Accept: application/json\r\nContent-Length: {Encoding.UTF8.GetByteCount(json)}\r\n\r\n{json}";
        const string list = """{"jsonrpc":"2.0","id":"after","method":"tools/list"}""";
        await stream.WriteAsync(Encoding.UTF8.GetBytes(Request(EchoCall) + Request(list)));

        PendingApproval pending = await WaitForPendingAsync();
        await Task.Delay(500);
        var (status, _) = await AdminAsync(HttpMethod.Post, $"/approvals/{pending.Id}/approve", "{}", _bob);
        Assert.Equal(HttpStatusCode.OK, status);

        var received = new StringBuilder();
        byte[] buffer = new byte[16 * 1024];
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        while (!received.ToString().Contains("\"id\":\"after\"", StringComparison.Ordinal))
        {
            int n = await stream.ReadAsync(buffer, cts.Token);
            Assert.True(n > 0, "the connection closed before the pipelined request was answered: " + received);
            received.Append(Encoding.UTF8.GetString(buffer, 0, n));
        }
        string text = received.ToString();
        int held = text.IndexOf("\"id\":\"held-1\"", StringComparison.Ordinal);
        int after = text.IndexOf("\"id\":\"after\"", StringComparison.Ordinal);
        Assert.True(held >= 0 && after > held, text);
        Assert.Contains("\"tools\"", text[after..]);
    }

    [Fact]
    public async Task The_admin_api_refuses_bad_input_with_a_clear_error()
    {
        var (unknown, unknownBody) = await AdminAsync(HttpMethod.Get, "/approvals/apr_doesnotexist", null, _bob);
        Assert.Equal(HttpStatusCode.NotFound, unknown);
        Assert.Contains("no approval", unknownBody);

        using var request = new HttpRequestMessage(HttpMethod.Post, Mcp) { Content = new StringContent(EchoCall, Encoding.UTF8, "application/json") };
        request.Headers.Accept.ParseAdd("application/json");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _alice);
        Task<HttpResponseMessage> call = _http.SendAsync(request);
        PendingApproval pending = await WaitForPendingAsync();

        var (broken, brokenBody) = await AdminAsync(HttpMethod.Post, $"/approvals/{pending.Id}/approve", "{not json", _bob);
        Assert.Equal(HttpStatusCode.BadRequest, broken);
        Assert.Contains("not a valid decision", brokenBody);
        var (wrongVerb, _) = await AdminAsync(HttpMethod.Get, $"/approvals/{pending.Id}/approve", null, _bob);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, wrongVerb);
        // An approver for other rules neither sees nor decides this one.
        var (otherList, otherListBody) = await AdminAsync(HttpMethod.Get, "/approvals", null, _frank);
        Assert.Equal(HttpStatusCode.OK, otherList);
        Assert.DoesNotContain(pending.Id, otherListBody);
        var (otherShow, _) = await AdminAsync(HttpMethod.Get, $"/approvals/{pending.Id}", null, _frank);
        Assert.Equal(HttpStatusCode.Forbidden, otherShow);
        var (otherApprove, _) = await AdminAsync(HttpMethod.Post, $"/approvals/{pending.Id}/approve", "{}", _frank);
        Assert.Equal(HttpStatusCode.Forbidden, otherApprove);
        var (ownList, ownListBody) = await AdminAsync(HttpMethod.Get, "/approvals", null, _bob);
        Assert.Equal(HttpStatusCode.OK, ownList);
        Assert.Contains(pending.Id, ownListBody);

        var (forged, _) = await AdminAsync(HttpMethod.Get, "/approvals", null, _bob[..^4] + "AAAA");
        Assert.Equal(HttpStatusCode.Unauthorized, forged);
        var (tooLong, _) = await AdminAsync(HttpMethod.Post, $"/approvals/{pending.Id}/deny", JsonSerializer.Serialize(new { reason = new string('x', 5000) }), _bob);
        Assert.Equal(HttpStatusCode.BadRequest, tooLong);
        Assert.Equal(ApprovalState.Pending, pending.State);

        var (denied, _) = await AdminAsync(HttpMethod.Post, $"/approvals/{pending.Id}/deny", """{"reason":"line one\nline two"}""", _bob);
        Assert.Equal(HttpStatusCode.OK, denied);
        Assert.Equal("line one line two", pending.Reason);
        using HttpResponseMessage response = await call.WaitAsync(TimeSpan.FromSeconds(30));
        using JsonDocument answer = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(-32002, answer.RootElement.GetProperty("error").GetProperty("code").GetInt32());
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _gateway.DisposeAsync();
        _demo.Dispose();
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }
}
