using System.Text;
using System.Text.Json;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// JSON-RPC batches through the real gateway: refused where the protocol version has none, and in
/// 2025-03-26 decided member by member (policy, approvals, audit) with list answers filtered.
/// </summary>
public sealed class BatchTests : IAsyncLifetime
{
    private PolicyGateway _gw = null!;
    private string _alice = "";
    private Func<UpstreamExchange, Task> _script = AnswerEachMember;

    private static List<RuleOptions> Rules() =>
    [
        new RuleOptions { Name = "protocol", Action = "allow", Methods = ["initialize", "ping", "notifications/*", "tools/list"] },
        new RuleOptions { Name = "deploys-need-approval", Action = "require_approval", Methods = ["tools/call"], Names = ["deploy"], Approvers = ["release"], ApprovalMode = "grant" },
        new RuleOptions { Name = "reads", Action = "allow", Methods = ["tools/call"], Names = ["read_file", "deploy"] },
        new RuleOptions { Name = "no-delete", Action = "deny", Methods = ["tools/call"], Names = ["delete_all"], Message = "deleting everything is not allowed" },
    ];

    public async Task InitializeAsync()
    {
        _gw = await PolicyGateway.StartAsync(x => _script(x), Rules());
        _alice = _gw.Token("alice", "dev");
    }

    public async Task DisposeAsync() => await _gw.DisposeAsync();

    private static string Call(string idJson, string name) =>
        "{\"jsonrpc\":\"2.0\",\"id\":" + idJson + ",\"method\":\"tools/call\",\"params\":{\"name\":\"" + name + "\",\"arguments\":{}}}";

    private static string List(string idJson) => "{\"jsonrpc\":\"2.0\",\"id\":" + idJson + ",\"method\":\"tools/list\"}";

    private const string Initialized = """{"jsonrpc":"2.0","method":"notifications/initialized"}""";

    /// <summary>Like a 2025-03-26 server: one answer per request member, in one JSON array (202 when none has an id).</summary>
    private static Task AnswerEachMember(UpstreamExchange x)
    {
        string answers = Answers(x.Request.Body);
        return answers == "[]" ? x.RespondAsync(202, "", "") : x.RespondJsonAsync(answers);
    }

    private static string Answers(string body)
    {
        using JsonDocument doc = JsonDocument.Parse(body);
        var parts = new List<string>();
        JsonElement[] members = doc.RootElement.ValueKind == JsonValueKind.Array ? [.. doc.RootElement.EnumerateArray()] : [doc.RootElement];
        foreach (JsonElement m in members)
        {
            if (!m.TryGetProperty("id", out JsonElement id) || !m.TryGetProperty("method", out JsonElement method)) continue;
            parts.Add(method.GetString() == "tools/list"
                ? PolicyGateway.ToolsListResult(id.GetRawText(), "read_file", "delete_all", "deploy")
                : "{\"jsonrpc\":\"2.0\",\"id\":" + id.GetRawText() + ",\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"ran "
                    + m.GetProperty("params").GetProperty("name").GetString() + "\"}]}}");
        }
        return "[" + string.Join(",", parts) + "]";
    }

    private static JsonElement[] Members(RawResponse response)
    {
        using JsonDocument doc = JsonDocument.Parse(response.BodyBytes);
        Assert.True(doc.RootElement.ValueKind == JsonValueKind.Array, $"not a batch answer: {response}");
        return [.. doc.RootElement.EnumerateArray().Select(e => e.Clone())];
    }

    private static JsonElement ById(JsonElement[] members, int id) => members.Single(m => m.GetProperty("id").GetInt32() == id);

    private static int ErrorCode(JsonElement member) => member.GetProperty("error").GetProperty("code").GetInt32();

    [Fact]
    public async Task A_denied_call_inside_a_batch_is_refused_and_never_reaches_the_upstream()
    {
        RawResponse response = await _gw.PostAsync("[" + Call("1", "delete_all") + "]", _alice);

        Assert.Equal(200, response.Status);
        JsonElement[] members = Members(response);
        JsonElement only = Assert.Single(members);
        Assert.Equal(1, only.GetProperty("id").GetInt32());
        Assert.Equal(-32001, ErrorCode(only));
        Assert.Contains("deleting everything is not allowed", only.GetProperty("error").GetProperty("message").GetString());
        Assert.Empty(_gw.Upstream.Requests);
    }

    [Fact]
    public async Task One_denied_member_refuses_the_whole_batch_with_an_error_for_every_request_id()
    {
        string batch = "[" + List("1") + "," + Call("2", "read_file") + "," + Initialized + "," + Call("3", "delete_all") + "]";
        RawResponse response = await _gw.PostAsync(batch, _alice);

        Assert.Equal(200, response.Status);
        JsonElement[] members = Members(response);
        Assert.Equal(3, members.Length); // the notification gets no answer
        Assert.Equal(-32001, ErrorCode(ById(members, 3)));
        Assert.Contains("deleting everything", ById(members, 3).GetProperty("error").GetProperty("message").GetString());
        foreach (int innocent in new[] { 1, 2 })
        {
            JsonElement m = ById(members, innocent);
            Assert.Equal(-32001, ErrorCode(m));
            Assert.Contains("not forwarded", m.GetProperty("error").GetProperty("message").GetString());
        }
        Assert.Empty(_gw.Upstream.Requests);
    }

    [Fact]
    public async Task A_member_that_needs_approval_refuses_the_batch_and_opens_no_approval()
    {
        RawResponse response = await _gw.PostAsync("[" + Call("1", "deploy") + "," + Call("2", "read_file") + "]", _alice);

        JsonElement[] members = Members(response);
        Assert.Equal(-32002, ErrorCode(ById(members, 1)));
        Assert.Contains("batch", ById(members, 1).GetProperty("error").GetProperty("message").GetString());
        Assert.Equal(-32002, ErrorCode(ById(members, 2)));
        Assert.Empty(_gw.Upstream.Requests);
        Assert.Empty(_gw.Gateway.Stages.Approvals!.List(includeDecided: true));
    }

    [Fact]
    public async Task A_batch_of_denied_notifications_only_gets_403_and_one_error()
    {
        RawResponse response = await _gw.PostAsync("""[{"jsonrpc":"2.0","method":"tools/call","params":{"name":"delete_all"}}]""", _alice);

        Assert.Equal(403, response.Status);
        (int code, string id) = response.JsonRpcError();
        Assert.Equal(-32001, code);
        Assert.Equal("null", id);
        Assert.Empty(_gw.Upstream.Requests);
    }

    [Theory]
    [InlineData("2025-06-18")]
    [InlineData("2025-11-25")]
    [InlineData("2026-07-28")]
    [InlineData("not-a-version")]
    public async Task Batches_are_refused_in_protocol_versions_that_have_none(string version)
    {
        RawResponse response = await _gw.PostAsync("[" + List("1") + "]", _alice, $"MCP-Protocol-Version: {version}\r\n");

        Assert.Equal(400, response.Status);
        (int code, _) = response.JsonRpcError();
        Assert.Equal(-32600, code);
        Assert.Contains($"batches are not allowed in protocol version {version}", response.Body);
        Assert.Empty(_gw.Upstream.Requests);
    }

    [Theory]
    [InlineData("[]", -32600)]
    [InlineData("[ ]", -32600)]
    [InlineData("[1]", -32600)]
    [InlineData("[[]]", -32600)]
    [InlineData("""[{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{}}]""", -32602)]
    [InlineData("""[{"jsonrpc":"2.0","id":1,"method":"tools/list"},{"jsonrpc":"1.0","id":2,"method":"tools/list"}]""", -32600)]
    public async Task A_batch_that_is_empty_or_has_an_invalid_member_is_refused_whole(string batch, int expectedCode)
    {
        RawResponse response = await _gw.PostAsync(batch, _alice);

        Assert.Equal(400, response.Status);
        Assert.Equal(expectedCode, response.JsonRpcError().Code);
        Assert.Empty(_gw.Upstream.Requests);
    }

    [Theory]
    [InlineData("Mcp-Method: tools/list\r\n")]
    [InlineData("Mcp-Name: read_file\r\n")]
    public async Task A_mirrored_header_on_a_batch_is_a_mismatch(string header)
    {
        RawResponse response = await _gw.PostAsync("[" + List("1") + "]", _alice, header);

        Assert.Equal(400, response.Status);
        Assert.Equal(-32020, response.JsonRpcError().Code);
        Assert.Empty(_gw.Upstream.Requests);
    }

    [Fact]
    public async Task A_member_claiming_a_stateless_version_is_refused()
    {
        string member = """{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}""";
        RawResponse response = await _gw.PostAsync("[" + member + "]", _alice);

        Assert.Equal(400, response.Status);
        Assert.Equal(-32020, response.JsonRpcError().Code);
        Assert.Contains("batch member 1", response.Body);
        Assert.Empty(_gw.Upstream.Requests);
    }

    [Fact]
    public async Task A_batch_over_the_member_limit_is_refused()
    {
        string batch = "[" + string.Join(",", Enumerable.Range(1, 101).Select(i => "{\"jsonrpc\":\"2.0\",\"id\":" + i + ",\"method\":\"ping\"}")) + "]";
        RawResponse response = await _gw.PostAsync(batch, _alice);

        Assert.Equal(400, response.Status);
        Assert.Equal(-32600, response.JsonRpcError().Code);
        Assert.Contains("100", response.Body);
        Assert.Empty(_gw.Upstream.Requests);
    }

    [Theory]
    [InlineData("1", "1")]
    [InlineData("1", "1.0")]
    [InlineData("\"a\"", "\"\\u0061\"")]
    public async Task Members_that_share_an_id_are_refused(string first, string second)
    {
        RawResponse response = await _gw.PostAsync("[" + List(first) + "," + Call(second, "read_file") + "]", _alice);

        Assert.Equal(400, response.Status);
        Assert.Equal(-32600, response.JsonRpcError().Code);
        Assert.Empty(_gw.Upstream.Requests);
    }

    [Fact]
    public async Task An_allowed_batch_is_forwarded_whole_and_its_list_answer_is_filtered()
    {
        string batch = "[" + List("1") + "," + Call("2", "read_file") + "," + Initialized + "]";
        RawResponse response = await _gw.PostAsync(batch, _alice);

        Assert.Equal(200, response.Status);
        Assert.Equal(batch, _gw.Upstream.SingleRequest().Body);
        JsonElement[] members = Members(response);
        Assert.Equal(["read_file", "deploy"], PolicyGateway.ToolNames(ById(members, 1)));
        Assert.Equal("ran read_file", ById(members, 2).GetProperty("result").GetProperty("content")[0].GetProperty("text").GetString());
    }

    [Fact]
    public async Task An_explicit_2025_03_26_header_allows_batches()
    {
        RawResponse response = await _gw.PostAsync("[" + List("1") + "]", _alice, "MCP-Protocol-Version: 2025-03-26\r\n");

        Assert.Equal(200, response.Status);
        Assert.Equal(["read_file", "deploy"], PolicyGateway.ToolNames(Assert.Single(Members(response))));
    }

    [Fact]
    public async Task A_batch_answer_streamed_as_events_is_filtered_member_by_member()
    {
        _script = async x =>
        {
            await x.StartEventStreamAsync();
            await x.SendEventAsync("event: message\ndata: " + PolicyGateway.ToolsListResult("\"b\"", "delete_all", "read_file") + "\n\n");
            await x.SendEventAsync("event: message\ndata: [" + PolicyGateway.ToolsListResult("\"a\"", "read_file", "delete_all")
                + ",{\"jsonrpc\":\"2.0\",\"id\":\"c\",\"result\":{\"content\":[]}}]\n\n");
            await x.EndChunkedAsync();
        };
        RawResponse response = await _gw.PostAsync("[" + List("\"a\"") + "," + List("\"b\"") + "," + Call("\"c\"", "read_file") + "]", _alice);

        Assert.Equal(200, response.Status);
        Assert.DoesNotContain("delete_all", response.Body);
        Assert.Contains("\"read_file\"", response.Body);
        Assert.Contains("\"id\":\"c\"", response.Body);
    }

    [Theory]
    [InlineData("""[{"jsonrpc":"2.0","id":1,"result":{"tools":{"name":"delete_all"}}}]""", -32603)]   // tools is not an array
    // An answer to no member, or a member that is not a message (it might be one): refused as unasked before any stage reads it.
    [InlineData("""[{"jsonrpc":"2.0","id":7,"result":{"tools":[{"name":"delete_all"}]}}]""", -32003)]
    [InlineData("""[{"jsonrpc":"2.0","id":1,"result":{"tools":[]}},[]]""", -32003)]
    [InlineData("""[{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"delete_all"}]},"result":{"tools":[]}}]""", -32603)]
    public async Task A_batch_answer_the_gateway_cannot_filter_is_refused_with_502(string answer, int code)
    {
        _script = x => x.RespondJsonAsync(answer);
        RawResponse response = await _gw.PostAsync("[" + List("1") + "]", _alice);

        Assert.Equal(502, response.Status);
        Assert.DoesNotContain("delete_all", response.Body);
        Assert.Equal(code, response.JsonRpcError().Code);
    }

    [Fact]
    public async Task Answers_to_server_requests_inside_a_batch_pass_without_a_decision()
    {
        string batch = """[{"jsonrpc":"2.0","id":"srv-1","result":{"model":"m"}},{"jsonrpc":"2.0","id":"srv-2","error":{"code":-1,"message":"no"}}]""";
        RawResponse response = await _gw.PostAsync(batch, _alice);

        Assert.Equal(202, response.Status);
        Assert.Equal(batch, _gw.Upstream.SingleRequest().Body);
    }

    [Fact]
    public async Task Every_member_is_recorded_in_the_audit_with_its_method_and_name()
    {
        await _gw.PostAsync("[" + List("1") + "," + Call("2", "read_file") + "]", _alice);
        await _gw.PostAsync("[" + Call("3", "read_file") + "," + Call("4", "delete_all") + "]", _alice);
        string[] timeline = await _gw.StopAndReadAuditAsync();

        Assert.DoesNotContain(timeline, line => line.Contains("(long value)", StringComparison.Ordinal));
        var records = timeline.Select(l => JsonDocument.Parse(l).RootElement).ToArray();
        bool Has(string type, string method, string? target, int id) => records.Any(r =>
            r.GetProperty("type").GetString() == type
            && r.GetProperty("component").TryGetProperty("method", out JsonElement m) && m.GetString() == method
            && (target is null || (r.GetProperty("component").TryGetProperty("target", out JsonElement t) && t.GetString() == target))
            && r.TryGetProperty("jsonrpcId", out JsonElement i) && i.ValueKind == JsonValueKind.Number && i.GetInt32() == id);
        Assert.True(Has("McpExchange", "tools/list", null, 1), string.Join('\n', timeline));
        Assert.True(Has("McpExchange", "tools/call", "read_file", 2), string.Join('\n', timeline));
        Assert.True(Has("Denied", "tools/call", "read_file", 3), string.Join('\n', timeline));
        Assert.True(Has("Denied", "tools/call", "delete_all", 4), string.Join('\n', timeline));
        Assert.Contains(records, r => r.GetProperty("type").GetString() == "Denied" && r.TryGetProperty("rule", out JsonElement rule) && rule.GetString() == "no-delete");
    }
}
