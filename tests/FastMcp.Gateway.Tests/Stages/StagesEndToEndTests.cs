using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using FastMcp.Audit;
using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Demo;
using FastMcp.Gateway.Hosting;
using FastMcp.Identity;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// The data path with every stage on (dev-mode identity, policy, masking, strict audit), over real
/// sockets, in front of the built-in demo MCP server.
/// </summary>
public sealed class StagesEndToEndTests : IAsyncLifetime
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "fastmcp-stages-" + Guid.NewGuid().ToString("N"));
    private DemoMcpServer _demo = null!;
    private GatewayStages _stages = null!;
    private GatewayHost _host = null!;
    private HttpClient _http = null!;
    private string _token = "";

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_dir);
        _demo = new DemoMcpServer(new IPEndPoint(IPAddress.Loopback, 0));
        var options = new GatewayOptions { Listen = ["127.0.0.1:0"], Admin = new AdminOptions { Listen = "" } };
        options.Upstream.Url = _demo.Url;
        options.Identity = new IdentityOptions { Mode = IdentityModes.Dev, Resource = "http://127.0.0.1/mcp", DevKeyDirectory = Path.Combine(_dir, "dev") };
        options.Policy = new PolicyOptions
        {
            Rules =
            [
                new RuleOptions { Name = "protocol", Action = "allow", Methods = ["initialize", "ping", "notifications/*", "tools/list"] },
                new RuleOptions { Name = "no-add", Action = "deny", Methods = ["tools/call"], Names = ["add"], Message = "adding is not allowed here" },
                new RuleOptions { Name = "countdown-needs-approval", Action = "require_approval", Methods = ["tools/call"], Names = ["count_down"], ApprovalMode = "grant",
                    Arguments = [new ArgumentConditionOptions { Pointer = "/n", GreaterThan = 100 }] },
                new RuleOptions { Name = "tools", Action = "allow", Methods = ["tools/call"], Names = ["echo", "lookup_customer", "count_down"] },
            ],
        };
        options.Masking.Requests = "block";
        options.Audit = new AuditOptions { Directory = Path.Combine(_dir, "audit"), ChainId = "test" };
        ConfigurationLoader.Validate(options);
        _stages = await GatewayStages.CreateAsync(options, [new IPEndPoint(IPAddress.Loopback, 0)], CancellationToken.None);
        _host = new GatewayHost(options, UpstreamUrl.Parse(options.Upstream.Url, "upstream.url"), _stages);
        using DevKey key = DevKeys.LoadOrCreate(Path.Combine(_dir, "dev"));
        _token = key.Mint("alice", ["sre"], [], null, DevKeys.Audience, DateTimeOffset.UtcNow, TimeSpan.FromMinutes(10));
        _http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{_host.Endpoints[0].Port}/"), Timeout = TimeSpan.FromSeconds(20) };
    }

    private async Task<(HttpStatusCode Status, JsonElement Body, HttpResponseMessage Response)> CallAsync(string json, string? token = "default")
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "mcp") { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        request.Headers.Accept.ParseAdd("application/json");
        request.Headers.Accept.ParseAdd("text/event-stream");
        if (token is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token == "default" ? _token : token);
        HttpResponseMessage response = await _http.SendAsync(request);
        string text = await response.Content.ReadAsStringAsync();
        JsonElement body = text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
        return (response.StatusCode, body, response);
    }

    private static string ToolCall(int id, string name, string argsJson) =>
        "{\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"method\":\"tools/call\",\"params\":{\"name\":\"" + name + "\",\"arguments\":" + argsJson + "}}";

    [Fact]
    public async Task Card_numbers_in_a_result_are_masked_before_the_client_sees_them()
    {
        var (status, body, _) = await CallAsync(ToolCall(1, "lookup_customer", """{"customer_id":"c-1"}"""));
        Assert.Equal(HttpStatusCode.OK, status);
        string text = body.GetProperty("result").GetProperty("content")[0].GetProperty("text").GetString()!;
        Assert.DoesNotContain("4111 1111 1111 1111", text);
        Assert.DoesNotContain("5555-5555-5555-4444", text);
        Assert.Contains("4111 11** **** 1111", text);
        Assert.Contains("5555-55**-****-4444", text);
        Assert.Contains("1764000000000", text); // an epoch-millisecond timestamp is not a card
    }

    [Fact]
    public async Task A_denied_call_gets_a_json_rpc_error_with_its_id_and_the_rules_message()
    {
        var (status, body, _) = await CallAsync(ToolCall(42, "add", """{"a":1,"b":2}"""));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(42, body.GetProperty("id").GetInt32());
        Assert.Equal(-32001, body.GetProperty("error").GetProperty("code").GetInt32());
        Assert.Contains("adding is not allowed here", body.GetProperty("error").GetProperty("message").GetString());
    }

    [Fact]
    public async Task A_call_no_rule_allows_is_denied_by_default()
    {
        var (_, body, _) = await CallAsync(ToolCall(5, "some_other_tool", "{}"));
        Assert.Equal(-32001, body.GetProperty("error").GetProperty("code").GetInt32());
    }

    [Fact]
    public async Task A_call_that_needs_approval_is_not_forwarded()
    {
        var (_, body, _) = await CallAsync(ToolCall(6, "count_down", """{"n":500}"""));
        Assert.Equal(-32002, body.GetProperty("error").GetProperty("code").GetInt32());
        Assert.Equal(6, body.GetProperty("id").GetInt32());
        // Grant mode: refused at once, with the pending approval to follow up on.
        JsonElement data = body.GetProperty("error").GetProperty("data");
        Assert.Equal("pending", data.GetProperty("status").GetString());
        Assert.StartsWith("apr_", data.GetProperty("approvalId").GetString());
        Assert.NotNull(_stages.Approvals!.Get(data.GetProperty("approvalId").GetString()!));
    }

    [Fact]
    public async Task Tools_list_hides_the_tools_the_caller_may_not_call_and_keeps_approval_gated_ones()
    {
        var (status, body, _) = await CallAsync("""{"jsonrpc":"2.0","id":7,"method":"tools/list"}""");
        Assert.Equal(HttpStatusCode.OK, status);
        var names = body.GetProperty("result").GetProperty("tools").EnumerateArray().Select(t => t.GetProperty("name").GetString()!).ToArray();
        // add is denied: hidden. count_down needs approval: visible, it can be called once approved.
        Assert.Equal(new[] { "echo", "lookup_customer", "count_down" }, names);
    }

    [Fact]
    public async Task A_card_number_in_a_request_is_blocked_in_block_mode()
    {
        var (_, body, _) = await CallAsync(ToolCall(8, "echo", """{"message":"charge 4111111111111111 now"}"""));
        Assert.Equal(-32001, body.GetProperty("error").GetProperty("code").GetInt32());
        Assert.Contains("card number", body.GetProperty("error").GetProperty("message").GetString());
    }

    [Fact]
    public async Task Without_a_token_the_caller_gets_401_with_the_resource_metadata_challenge()
    {
        var (status, _, response) = await CallAsync(ToolCall(9, "echo", """{"message":"hi"}"""), token: null);
        Assert.Equal(HttpStatusCode.Unauthorized, status);
        string challenge = response.Headers.WwwAuthenticate.ToString();
        Assert.Contains("resource_metadata=", challenge);
    }

    [Fact]
    public async Task A_tampered_token_is_refused()
    {
        string[] parts = _token.Split('.');
        string payload = Encoding.UTF8.GetString(Base64UrlDecode(parts[1])).Replace("alice", "mallory");
        string forged = parts[0] + "." + Base64UrlEncode(Encoding.UTF8.GetBytes(payload)) + "." + parts[2];
        var (status, _, _) = await CallAsync(ToolCall(10, "echo", """{"message":"hi"}"""), token: forged);
        Assert.Equal(HttpStatusCode.Unauthorized, status);
    }

    [Fact]
    public async Task The_audit_of_the_exchanges_verifies_and_holds_no_raw_card_number()
    {
        await CallAsync(ToolCall(11, "lookup_customer", """{"customer_id":"c-2"}"""));
        await CallAsync(ToolCall(12, "add", """{"a":1,"b":2}"""));
        await CallAsync(ToolCall(13, "echo", """{"message":"4111 1111 1111 1111"}"""));
        await CallAsync(ToolCall(14, "echo", """{"message":"x"}"""), token: null);
        string streamed = await StreamAsync("""{"jsonrpc":"2.0","id":15,"method":"tools/call","params":{"name":"count_down","arguments":{"n":3},"_meta":{"progressToken":"t15"}}}""");
        Assert.Contains("2 to go", streamed); // progress events came through
        Assert.Contains("lift-off", streamed);
        await _host.StopAsync(TimeSpan.FromSeconds(5));
        await _stages.DisposeAsync();

        var verifyOut = new StringWriter();
        int verified = await VerifyCommand.RunAsync([Path.Combine(_dir, "audit"), "--key", Path.Combine(_dir, "audit", "audit-signing-key.pub.pem")], verifyOut, new StringWriter());
        Assert.True(verified == 0, verifyOut.ToString());

        var replayOut = new StringWriter();
        int replayed = await ReplayCommand.RunAsync([Path.Combine(_dir, "audit"), "--format", "jsonl"], replayOut, new StringWriter());
        Assert.Equal(0, replayed);
        string timeline = replayOut.ToString();
        Assert.DoesNotContain("4111 1111 1111 1111", timeline);
        Assert.DoesNotContain("4111111111111111", timeline);
        Assert.Contains("\"type\":\"Denied\"", timeline);
        Assert.Contains("\"type\":\"AuthenticationFailed\"", timeline);
        Assert.Contains("\"rule\":\"no-add\"", timeline);
        Assert.Contains("\"subject\":\"alice\"", timeline);
        Assert.Contains("cardFingerprints", timeline);
        // A streamed answer is recorded as its final JSON-RPC message, readable, not as SSE bytes.
        bool sawStreamedResponse = false;
        foreach (string line in timeline.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            using JsonDocument record = JsonDocument.Parse(line);
            JsonElement r = record.RootElement;
            // Request records embed the request as JSON: as inspected (id 11) or as masked (id 13).
            if (r.TryGetProperty("detail", out JsonElement detail) && detail.GetString() == "request")
            {
                Assert.False(r.TryGetProperty("requestNotJsonBase64", out _), line);
                JsonElement sent = r.GetProperty("request");
                int sentId = sent.GetProperty("id").GetInt32();
                if (sentId == 11) Assert.Equal("c-2", sent.GetProperty("params").GetProperty("arguments").GetProperty("customer_id").GetString());
                if (sentId == 13) Assert.Equal("4111 11** **** 1111", sent.GetProperty("params").GetProperty("arguments").GetProperty("message").GetString());
            }
            if (r.TryGetProperty("jsonrpcId", out JsonElement id) && id.ValueKind == JsonValueKind.Number && id.GetInt32() == 15
                && r.GetProperty("detail").GetString() == "response")
            {
                sawStreamedResponse = true;
                Assert.False(r.TryGetProperty("responseNotJsonBase64", out _), line);
                Assert.Equal("lift-off", r.GetProperty("response").GetProperty("result").GetProperty("content")[0].GetProperty("text").GetString());
            }
        }
        Assert.True(sawStreamedResponse, timeline);
    }

    private async Task<string> StreamAsync(string json)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "mcp") { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        request.Headers.Accept.ParseAdd("application/json");
        request.Headers.Accept.ParseAdd("text/event-stream");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _token);
        using HttpResponseMessage response = await _http.SendAsync(request);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        return await response.Content.ReadAsStringAsync();
    }

    private static byte[] Base64UrlDecode(string s)
    {
        s = s.Replace('-', '+').Replace('_', '/');
        return Convert.FromBase64String(s.PadRight(s.Length + (4 - s.Length % 4) % 4, '='));
    }

    private static string Base64UrlEncode(byte[] b) => Convert.ToBase64String(b).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _host.DisposeAsync();
        await _stages.DisposeAsync();
        _demo.Dispose();
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }
}
