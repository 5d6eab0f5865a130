using System.Text;
using System.Text.Json;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Mcp;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// tools/list answers through the real gateway in every shape an upstream can send them: filtered,
/// or refused when they cannot be, never relayed whole; and never one caller's list to another.
/// </summary>
public sealed class ListFilteringTests : IAsyncLifetime
{
    private PolicyGateway _gw = null!;
    private string _alice = "", _bob = "";
    private Func<UpstreamExchange, Task> _script = x => x.RespondJsonAsync(PolicyGateway.ToolsListResult(x.Request.IdJson(), "a_read", "b_read", "delete_all"));

    public async Task InitializeAsync()
    {
        _gw = await PolicyGateway.StartAsync(x => _script(x),
        [
            new RuleOptions { Name = "protocol", Action = "allow", Methods = ["tools/list"] },
            new RuleOptions { Name = "team-a", Action = "allow", Methods = ["tools/call"], Groups = ["team-a"], Names = ["a_*"] },
            new RuleOptions { Name = "team-b", Action = "allow", Methods = ["tools/call"], Groups = ["team-b"], Names = ["b_*"] },
        ]);
        _alice = _gw.Token("alice", "team-a");
        _bob = _gw.Token("bob", "team-b");
    }

    public async Task DisposeAsync() => await _gw.DisposeAsync();

    private static string ListCall(int id) => "{\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"method\":\"tools/list\"}";

    [Fact]
    public async Task A_list_event_split_over_several_data_lines_is_joined_filtered_and_keeps_its_other_fields()
    {
        _script = async x =>
        {
            string pretty = JsonSerializer.Serialize(JsonDocument.Parse(PolicyGateway.ToolsListResult("1", "a_read", "delete_all")).RootElement,
                new JsonSerializerOptions { WriteIndented = true });
            await x.StartEventStreamAsync();
            await x.SendEventAsync("id: ev-1\nevent: message\n" + string.Join("", pretty.Split('\n').Select(l => "data: " + l + "\n")) + "\n");
            await x.EndChunkedAsync();
        };
        RawResponse response = await _gw.PostAsync(ListCall(1), _alice);

        Assert.Equal(200, response.Status);
        Assert.DoesNotContain("delete_all", response.Body);
        Assert.Contains("id: ev-1\n", response.Body);
        Assert.Contains("event: message\n", response.Body);
        using JsonDocument answer = JsonDocument.Parse(Assert.Single(EventStreamText.EventData(response.Body)));
        Assert.Equal(["a_read"], PolicyGateway.ToolNames(answer.RootElement));
    }

    [Fact]
    public async Task A_list_event_that_cannot_be_filtered_becomes_an_error_event()
    {
        _script = async x =>
        {
            await x.StartEventStreamAsync();
            await x.SendEventAsync("event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\ndata: \"result\":{\"tools\":{\"name\":\"delete_all\"}}}\n\n");
            await x.EndChunkedAsync();
        };
        RawResponse response = await _gw.PostAsync(ListCall(1), _alice);

        Assert.Equal(200, response.Status);
        Assert.DoesNotContain("delete_all", response.Body);
        using JsonDocument answer = JsonDocument.Parse(Assert.Single(EventStreamText.EventData(response.Body)));
        Assert.Equal(-32603, answer.RootElement.GetProperty("error").GetProperty("code").GetInt32());
        Assert.Equal(1, answer.RootElement.GetProperty("id").GetInt32());
    }

    [Fact]
    public async Task A_list_event_with_a_case_variant_entry_name_becomes_an_error_event()
    {
        _script = async x =>
        {
            await x.StartEventStreamAsync();
            await x.SendEventAsync("event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"tools\":[{\"name\":\"a_read\",\"Name\":\"delete_all\"}]}}\n\n");
            await x.EndChunkedAsync();
        };
        RawResponse response = await _gw.PostAsync(ListCall(1), _alice);

        Assert.Equal(200, response.Status);
        Assert.DoesNotContain("delete_all", response.Body);
        // Unreadable to the gateway (a member name a lenient client reads otherwise): withheld as such, -32003.
        using JsonDocument answer = JsonDocument.Parse(Assert.Single(EventStreamText.EventData(response.Body)));
        Assert.Equal(JsonRpcErrorCodes.UpstreamUnavailable, answer.RootElement.GetProperty("error").GetProperty("code").GetInt32());
    }

    [Fact]
    public async Task A_list_whose_entries_hold_case_variants_only_deeper_is_still_filtered()
    {
        // "Name" inside an input schema is a property of the tool's arguments, not the entry's name: nothing to refuse.
        _script = x => x.RespondJsonAsync("""{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"a_read","inputSchema":{"type":"object","properties":{"Name":{"type":"string"}}}},{"name":"delete_all"}]}}""");
        RawResponse response = await _gw.PostAsync(ListCall(1), _alice);

        Assert.Equal(200, response.Status);
        using JsonDocument answer = JsonDocument.Parse(response.BodyBytes);
        Assert.Equal(["a_read"], PolicyGateway.ToolNames(answer.RootElement));
        Assert.Contains("\"Name\"", response.Body);
    }

    [Fact]
    public async Task A_single_list_call_answered_with_a_json_array_is_filtered()
    {
        _script = x => x.RespondJsonAsync("[" + PolicyGateway.ToolsListResult("1", "a_read", "delete_all") + "]");
        RawResponse response = await _gw.PostAsync(ListCall(1), _alice);

        Assert.Equal(200, response.Status);
        using JsonDocument answer = JsonDocument.Parse(response.BodyBytes);
        Assert.Equal(["a_read"], PolicyGateway.ToolNames(answer.RootElement[0]));
    }

    [Theory]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"delete_all"}]},"result":{"tools":[]}}""")] // two results
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"delete_all"}]}} trailing""")]            // not one JSON value
    [InlineData("""[{"jsonrpc":"2.0","id":1,"result":{"tools":"delete_all"}}]""")]                               // an array member not a list
    // Names a Go client reads case-insensitively, the last match winning (or with a control character dropped): the
    // gateway would filter one list and the client show another.
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"a_read","NAME":"delete_all"}]}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"a_read"}],"TOOLS":[{"name":"delete_all"}]}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"a_read"}]},"RESULT":{"tools":[{"name":"delete_all"}]}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result\u0000":{"tools":[{"name":"delete_all"}]},"result":{"tools":[{"name":"a_read"}]}}""")]
    [InlineData("""[{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"a_read","nAme":"delete_all"}]}}]""")]
    public async Task A_2xx_list_answer_that_cannot_be_filtered_is_refused_with_502(string answer)
    {
        _script = x => x.RespondJsonAsync(answer);
        RawResponse response = await _gw.PostAsync(ListCall(1), _alice);

        Assert.Equal(502, response.Status);
        Assert.DoesNotContain("delete_all", response.Body);
        (int code, string id) = response.JsonRpcError();
        Assert.Equal(-32603, code);
        Assert.Equal("1", id);
    }

    [Fact]
    public async Task An_error_status_with_a_body_that_is_not_json_rpc_passes_so_the_client_sees_the_status()
    {
        _script = x => x.RespondAsync(404, "text/plain", "session not found");
        RawResponse response = await _gw.PostAsync(ListCall(1), _alice);

        Assert.Equal(404, response.Status);
        Assert.Equal("session not found", response.Body);
    }

    [Fact]
    public async Task Concurrent_list_calls_from_two_callers_each_see_only_their_own_tools()
    {
        // A long list, so that filtering takes long enough for two callers' answers to overlap.
        string[] tools = [.. Enumerable.Range(0, 300).Select(i => (i % 2 == 0 ? "a_" : "b_") + i.ToString("D4") + new string('x', 40))];
        _script = x => x.RespondJsonAsync(PolicyGateway.ToolsListResult(x.Request.IdJson(), tools));
        string[] expectA = [.. tools.Where(t => t.StartsWith("a_", StringComparison.Ordinal))];
        string[] expectB = [.. tools.Where(t => t.StartsWith("b_", StringComparison.Ordinal))];

        async Task<List<string>> CallerAsync(string token, string[] expected, int seed)
        {
            var problems = new List<string>();
            using RawClient client = await _gw.Gateway.ConnectAsync();
            for (int i = 0; i < 60; i++)
            {
                int id = seed * 1000 + i;
                await client.SendAsync(_gw.Gateway.Post(ListCall(id), $"Authorization: Bearer {token}\r\n"));
                RawResponse response = await client.ReadResponseAsync();
                try
                {
                    using JsonDocument answer = JsonDocument.Parse(response.BodyBytes);
                    if (answer.RootElement.GetProperty("id").GetInt32() != id) problems.Add($"id {id}: answered with another id: {response.Body[..Math.Min(200, response.Body.Length)]}");
                    else if (!PolicyGateway.ToolNames(answer.RootElement).SequenceEqual(expected)) problems.Add($"id {id}: another caller's list");
                }
                catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
                {
                    problems.Add($"id {id}: status {response.Status}, not a list answer ({e.GetType().Name}): {response.Body[..Math.Min(200, response.Body.Length)]}");
                }
            }
            return problems;
        }

        var callers = new List<Task<List<string>>>();
        for (int c = 0; c < 3; c++)
        {
            int seed = 1 + c * 2;
            callers.Add(Task.Run(() => CallerAsync(_alice, expectA, seed)));
            callers.Add(Task.Run(() => CallerAsync(_bob, expectB, seed + 1)));
        }
        List<string>[] results = await Task.WhenAll(callers);
        string[] all = [.. results.SelectMany(r => r)];
        Assert.True(all.Length == 0, $"{all.Length} wrong answers, e.g.:\n" + string.Join("\n", all.Take(5)));
    }
}
