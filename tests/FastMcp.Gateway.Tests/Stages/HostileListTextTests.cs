using System.Text.Json;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Policy;
using static FastMcp.Gateway.Tests.Support.AuditRecordFields;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// List answers whose entries carry hostile or merely odd text (control characters, bidi overrides, escape-heavy strings,
/// emoji, RTL text, a long description), through the real gateway for each list method: filtered like any other, since
/// the filter reads valid JSON of any content. What it cannot read stays refused whole, and the client's error and the
/// record say which rule refused it: a member name holding a control character (in a tool's input schema, say) is one.
/// </summary>
public sealed class HostileListTextTests : IAsyncLifetime
{
    private PolicyGateway _gw = null!;
    private string _alice = "";
    private volatile string _answer = "";

    public async Task InitializeAsync()
    {
        _gw = await PolicyGateway.StartAsync(x => x.RespondJsonAsync(_answer.Replace("\"ID\"", x.Request.IdJson(), StringComparison.Ordinal)),
        [
            new RuleOptions { Name = "lists", Action = "allow", Methods = ["tools/list", "prompts/list", "resources/list", "resources/templates/list"] },
            new RuleOptions { Name = "team-a", Action = "allow", Methods = ["tools/call", "prompts/get", "resources/read"], Names = ["a_*", "mem://a_*"] },
        ]);
        _alice = _gw.Token("alice", "team-a");
    }

    public async Task DisposeAsync() => await _gw.DisposeAsync();

    /// <summary>The list method, its array member, its identifying member, the kept entry's identity and the removed one's.</summary>
    public static TheoryData<string, string, string, string, string> Lists => new()
    {
        { "tools/list", "tools", "name", "a_read", "delete_all" },
        { "prompts/list", "prompts", "name", "a_read", "delete_all" },
        { "resources/list", "resources", "uri", "mem://a_read", "mem://delete_all" },
        { "resources/templates/list", "resourceTemplates", "uriTemplate", "mem://a_read", "mem://delete_all" },
    };

    private static string Entry(string key, string identity, string description, string schemaMember) =>
        "{\"" + key + "\":" + JsonSerializer.Serialize(identity) + ",\"description\":" + description
        + ",\"inputSchema\":{\"type\":\"object\",\"properties\":{" + schemaMember + ":{\"type\":\"string\",\"description\":" + description + "}}}}";

    private async Task<RawResponse> ListAsync(string method, string array, params string[] entries)
    {
        _answer = "{\"jsonrpc\":\"2.0\",\"id\":\"ID\",\"result\":{\"" + array + "\":[" + string.Join(",", entries) + "],\"nextCursor\":\"n\\u00e9xt\"}}";
        return await _gw.PostAsync("{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"" + method + "\"}", _alice);
    }

    [Theory]
    [MemberData(nameof(Lists))]
    public async Task Hostile_and_odd_text_in_entries_is_filtered_not_refused(string method, string array, string key, string kept, string removed)
    {
        // The tools diff tests' hostile text (newline, a forged log line, ESC sequences, BEL, DEL, C1 controls, line and
        // paragraph separators, a bidi override, an escaped backslash), emoji and RTL raw and as escaped surrogate pairs,
        // escaped quotes, and a description longer than any buffer the filter keeps on its stack.
        string[] descriptions =
        [
            HostileText.Json,
            "\"\ud83d\ude00 \u05e9\u05dc\u05d5\u05dd \\ud83d\\ude00 \\u05e9 \\\"quoted\\\" \\\\ \\/ \\b\\f\\n\\r\\t \u202e\u2066\"",
            JsonSerializer.Serialize(new string('\u202e', 300) + new string('x', 70_000) + "\u0000"),
        ];
        // Schema member names with bidi overrides, C1 controls, emoji and escapes: not control characters (U+0000-U+001F, U+007F).
        string[] members = ["\"a\u202eb\u2028\u0085\u009b\"", "\"\ud83d\ude00\\ud83d\\ude00\\u05e9\"", "\"q\\\"uo\\\\te\\/d\"", JsonSerializer.Serialize(new string('\u200f', 400))];
        for (int i = 0; i < descriptions.Length; i++)
        {
            string keep = Entry(key, kept, descriptions[i], members[i % members.Length]);
            RawResponse response = await ListAsync(method, array, keep, Entry(key, removed, descriptions[i], members[(i + 1) % members.Length]));

            Assert.True(response.Status == 200, response.Body.Length > 500 ? response.Body[..500] : response.Body);
            using JsonDocument answer = JsonDocument.Parse(response.BodyBytes);
            JsonElement result = answer.RootElement.GetProperty("result");
            JsonElement only = Assert.Single(result.GetProperty(array).EnumerateArray().ToArray());
            Assert.Equal(kept, only.GetProperty(key).GetString());
            using JsonDocument sent = JsonDocument.Parse(keep);
            Assert.True(JsonElement.DeepEquals(sent.RootElement, only), "the kept entry changed");
            Assert.Equal("n\u00e9xt", result.GetProperty("nextCursor").GetString());
            Assert.Equal(7, answer.RootElement.GetProperty("id").GetInt32());
        }
    }

    [Theory]
    [MemberData(nameof(Lists))]
    public async Task A_control_character_in_a_schema_member_name_refuses_the_list_and_says_so(string method, string array, string key, string kept, string removed)
    {
        string hostileMember = Entry(key, kept, "\"ok\"", HostileText.Json);
        RawResponse response = await ListAsync(method, array, hostileMember, Entry(key, removed, "\"ok\"", "\"plain\""));

        Assert.Equal(502, response.Status);
        Assert.DoesNotContain("delete_all", response.Body, StringComparison.Ordinal);
        using JsonDocument answer = JsonDocument.Parse(response.BodyBytes);
        JsonElement error = answer.RootElement.GetProperty("error");
        Assert.Equal(-32603, error.GetProperty("code").GetInt32());
        const string Why = "list result could not be filtered by policy: withheld: a member name in it holds a control character (U+0000-U+001F or U+007F, in any object, a tool's input schema included)";
        Assert.Equal(Why, error.GetProperty("message").GetString());

        List<JsonElement> records = Parse(await _gw.StopAndReadAuditAsync());
        JsonElement outcome = Assert.Single(records, r => Field(r, "type") == "McpExchange" && r.GetProperty("success").GetBoolean() == false);
        Assert.Equal("upstream failed: UnfilterableResponse (" + Why + "); the client got the gateway's error", Field(outcome, "detail"));
    }

    /// <summary>What the filter cannot inspect stays refused whole, each with its own reason.</summary>
    [Theory]
    [InlineData("""{"jsonrpc":"2.0","id":7,"result":{"tools":[{"name":"a_read"},{"name":"delete_all"}]""", "not well-formed JSON")]
    [InlineData("""{"jsonrpc":"2.0","id":7,"result":{"tools":[{"name":"a_read"}],"tools":[{"name":"delete_all"}]}}""", "an object in it names a member twice")]
    [InlineData("""{"jsonrpc":"2.0","id":7,"result":{"tools":[{"name":"a_read"}],"TOOLS":[{"name":"delete_all"}]}}""", "member names in it differ only in letter case")]
    [InlineData("""{"jsonrpc":"2.0","id":7,"result":{"tools":[{"name":"a_read","x":"\ud800"},{"name":"delete_all"}]}}""", "not well-formed JSON")]
    [InlineData("""{"jsonrpc":"2.0","id":7,"result":{"tools":{"name":"delete_all"}}}""", "not a success answer whose result holds the list as one array")]
    public async Task What_the_filter_cannot_inspect_is_refused_with_its_reason(string answer, string why)
    {
        _answer = answer;
        RawResponse response = await _gw.PostAsync("{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/list\"}", _alice);

        Assert.Equal(502, response.Status);
        Assert.DoesNotContain("delete_all", response.Body, StringComparison.Ordinal);
        using JsonDocument error = JsonDocument.Parse(response.BodyBytes);
        Assert.StartsWith("list result could not be filtered by policy: withheld: " + why,
            error.RootElement.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Nesting_past_the_limit_is_refused_and_at_the_limit_is_filtered()
    {
        // The message's own object and result, the array and the entry are 4 levels; McpInspector.MaxDepth allows 64.
        static string Nested(int levels) => new string('[', levels) + new string(']', levels);
        string Answer(int levels) => "{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{\"tools\":[{\"name\":\"a_read\",\"x\":" + Nested(levels) + "},{\"name\":\"delete_all\"}]}}";

        _answer = Answer(64 - 4);
        RawResponse atLimit = await _gw.PostAsync("{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/list\"}", _alice);
        Assert.Equal(200, atLimit.Status);
        Assert.DoesNotContain("delete_all", atLimit.Body, StringComparison.Ordinal);

        _answer = Answer(64 - 3);
        RawResponse past = await _gw.PostAsync("{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/list\"}", _alice);
        Assert.Equal(502, past.Status);
        Assert.DoesNotContain("delete_all", past.Body, StringComparison.Ordinal);
        Assert.Contains("withheld: objects and arrays in it nest deeper than 64 levels", past.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Invalid_utf8_is_refused()
    {
        _answer = "";
        await _gw.DisposeAsync();
        byte[] invalid = [.. "{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{\"tools\":[{\"name\":\"a_read\",\"description\":\""u8, 0xC3, 0x28, .. "\"},{\"name\":\"delete_all\"}]}}"u8];
        byte[] head = System.Text.Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {invalid.Length}\r\n\r\n");
        _gw = await PolicyGateway.StartAsync(x => x.SendAsync([.. head, .. invalid]),
            [new RuleOptions { Name = "lists", Action = "allow", Methods = ["tools/list"] }]);
        RawResponse response = await _gw.PostAsync("{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/list\"}", _gw.Token("alice"));

        // Refused before any stage reads it (answers are checked as UTF-8 text first), as the filter itself would (NotUtf8).
        Assert.Equal(502, response.Status);
        Assert.DoesNotContain("delete_all", response.Body, StringComparison.Ordinal);
    }
}
