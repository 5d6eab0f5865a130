using System.Text.Json;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// <c>{"path":"/tmp/ok","path":"/etc/passwd"}</c> passed a path condition because the policy's pointer lookup
/// took the first member while Python and JavaScript upstreams take the last. A message that repeats a member
/// name anywhere (after unescaping) is refused before it is decided, recorded or forwarded.
/// </summary>
public sealed class DuplicateArgumentTests : IAsyncLifetime
{
    private PolicyGateway _gw = null!;

    public async Task InitializeAsync() => _gw = await PolicyGateway.StartAsync(
        x => x.RespondJsonAsync("{\"jsonrpc\":\"2.0\",\"id\":" + x.Request.IdJson() + ",\"result\":{\"content\":[]}}"),
        [
            new RuleOptions { Name = "tmp-only", Action = "allow", Methods = ["tools/call"], Names = ["read_file"],
                Arguments = [new ArgumentConditionOptions { Pointer = "/path", Regex = "^/tmp/" }] },
        ]);

    public async Task DisposeAsync() => await _gw.DisposeAsync();

    [Theory]
    [InlineData("""{"path":"/tmp/ok","path":"/etc/passwd"}""")]
    [InlineData("""{"path":"/tmp/ok","p\u0061th":"/etc/passwd"}""")]
    [InlineData("""{"path":"/tmp/ok","opts":{"mode":"r","mode":"w"}}""")]
    public async Task Arguments_that_repeat_a_member_are_refused_and_never_forwarded(string args)
    {
        string call = "{\"jsonrpc\":\"2.0\",\"id\":11,\"method\":\"tools/call\",\"params\":{\"name\":\"read_file\",\"arguments\":" + args + "}}";

        RawResponse response = await _gw.PostAsync(call, _gw.Token("alice", "sre"));

        Assert.Equal(400, response.Status);
        using JsonDocument body = JsonDocument.Parse(response.Body);
        Assert.Contains("duplicate member", body.RootElement.GetProperty("error").GetProperty("message").GetString());
        Assert.Empty(_gw.Upstream.Requests);
    }

    [Fact]
    public async Task The_same_call_without_the_repeat_is_decided_as_usual()
    {
        string allowed = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"read_file\",\"arguments\":{\"path\":\"/tmp/ok\"}}}";
        string denied = "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":\"read_file\",\"arguments\":{\"path\":\"/etc/passwd\"}}}";

        Assert.Equal(200, (await _gw.PostAsync(allowed, _gw.Token("alice", "sre"))).Status);
        using JsonDocument body = JsonDocument.Parse((await _gw.PostAsync(denied, _gw.Token("alice", "sre"))).Body);
        Assert.Equal(-32001, body.RootElement.GetProperty("error").GetProperty("code").GetInt32());
        Assert.Single(_gw.Upstream.Requests);
    }
}
