using System.Text.Json;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Mcp;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// Go's encoding/json (Go MCP servers, older go-sdk: GHSA-wvj2-96wp-fq3f) fills struct fields from member names
/// matched without regard to letter case (also folding U+017F to s and U+212A to k), the last one winning. A
/// message naming <c>"method"</c> and <c>"METHOD"</c> is decided here on one and run upstream on the other; one
/// naming <c>"Method"</c> next to <c>"result"</c> is an answer here and a call upstream. Such messages are refused
/// before they are decided, recorded or forwarded.
/// </summary>
public sealed class CaseFoldedMemberTests : IAsyncLifetime
{
    private PolicyGateway _gw = null!;
    private string _alice = "";

    public async Task InitializeAsync()
    {
        _gw = await PolicyGateway.StartAsync(Answer,
        [
            new RuleOptions { Name = "lists", Action = "allow", Methods = ["tools/list"] },
            new RuleOptions { Name = "ls", Action = "allow", Methods = ["tools/call"], Names = ["ls"] },
            new RuleOptions { Name = "tmp-only", Action = "allow", Methods = ["tools/call"], Names = ["read_file"],
                Arguments = [new ArgumentConditionOptions { Pointer = "/path", Regex = "^/tmp/" }] },
        ]);
        _alice = _gw.Token("alice", "dev");
    }

    public async Task DisposeAsync() => await _gw.DisposeAsync();

    private static Task Answer(UpstreamExchange x)
    {
        using JsonDocument request = JsonDocument.Parse(x.Request.Body);
        JsonElement root = request.RootElement;
        if (root.ValueKind == JsonValueKind.Array) return x.RespondJsonAsync("[]");
        string id = root.TryGetProperty("id", out JsonElement idElement) ? idElement.GetRawText() : "null";
        return root.TryGetProperty("method", out JsonElement method) && method.GetString() == "tools/list"
            ? x.RespondJsonAsync(PolicyGateway.ToolsListResult(id, "ls", "read_file"))
            : x.RespondJsonAsync("{\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"result\":{\"content\":[]}}");
    }

    public static TheoryData<string> Differentials() => new()
    {
        // Decided as tools/list; a Go upstream takes the last of method/METHOD and runs tools/call rm.
        """{"jsonrpc":"2.0","id":1,"method":"tools/list","METHOD":"tools/call","params":{"name":"rm"}}""",
        // An answer to a server request here (no decision at all); a call to a Go upstream.
        """{"jsonrpc":"2.0","id":1,"result":{},"Method":"tools/call","params":{"name":"rm"}}""",
        // Decided on ls; run as rm.
        """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"ls","Name":"rm"}}""",
        """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"ls","N\u0041ME":"rm"}}""",
        // U+017F folds to s: "paramſ" is params to Go.
        """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"ls"},"paramſ":{"name":"rm"}}""",
        """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"ls"},"param\u017f":{"name":"rm"}}""",
        """{"jsonrpc":"2.0","id":1,"method":"tools/list","paramſ":{"name":"rm"}}""",
        // Members the gateway reads, spelled in another case without the exact spelling next to them.
        """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"read_file","Arguments":{"path":"/etc/passwd"}}}""",
        """{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_META":{"progressToken":1}}}""",
        """{"jsonrpc":"2.0","ID":1,"method":"tools/list"}""",
        // Inside the arguments: the policy reads /path, a Go tool's struct field takes the last of path/Path.
        """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"read_file","arguments":{"path":"/tmp/ok","Path":"/etc/passwd"}}}""",
        // U+212A KELVIN SIGN folds to k, raw and escaped.
        """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"ls","arguments":{"key":"a","Key":"b"}}}""",
        """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"ls","arguments":{"key":"a","\u212Aey":"b"}}}""",
        // Batch members, caught in the whole batch (a pair) and in the member (a lone variant).
        """[{"jsonrpc":"2.0","id":1,"method":"tools/list","METHOD":"tools/call","params":{"name":"rm"}}]""",
        """[{"jsonrpc":"2.0","id":1,"result":{},"Method":"tools/call","params":{"name":"rm"}}]""",
    };

    [Theory]
    [MemberData(nameof(Differentials))]
    public async Task Member_names_that_differ_only_in_letter_case_are_refused_and_never_forwarded(string json)
    {
        RawResponse response = await _gw.PostAsync(json, _alice);

        Assert.Equal(400, response.Status);
        (int code, _) = response.JsonRpcError();
        Assert.Equal(JsonRpcErrorCodes.InvalidRequest, code);
        using JsonDocument body = JsonDocument.Parse(response.Body);
        Assert.Contains("letter case", body.RootElement.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Empty(_gw.Upstream.Requests);
    }

    [Fact]
    public async Task An_exact_repeat_is_still_reported_as_a_duplicate()
    {
        RawResponse response = await _gw.PostAsync("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"ls","name":"rm"}}""", _alice);

        Assert.Equal(400, response.Status);
        using JsonDocument body = JsonDocument.Parse(response.Body);
        Assert.Contains("duplicate member", body.RootElement.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Empty(_gw.Upstream.Requests);
    }

    public static TheoryData<string> Ordinary() => new()
    {
        """{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"cursor":"c1"}}""",
        """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"ls","arguments":{"a":1,"b":2}}}""",
        """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"ls","arguments":{"Path":"x","Mode":"r","nested":{"Path":"y","paths":["z"]}}}}""",
        """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"read_file","arguments":{"path":"/tmp/ok","PathPrefix":"/tmp","ſ":1,"straße":2}}}""",
        """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"ls","arguments":{},"_meta":{"progressToken":"p","Trace":"t"}}}""",
    };

    [Theory]
    [MemberData(nameof(Ordinary))]
    public async Task Messages_with_distinct_names_are_decided_and_forwarded_as_usual(string json)
    {
        RawResponse response = await _gw.PostAsync(json, _alice);

        Assert.Equal(200, response.Status);
        Assert.Equal("1", response.IdJson());
        Assert.Equal(json, _gw.Upstream.SingleRequest().Body);
    }
}
