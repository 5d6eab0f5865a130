using System.Text.Json;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// Resource URIs were compared as raw strings: <c>file:///tmp/../etc/passwd</c>, <c>file://localhost/etc/passwd</c>
/// and <c>file:///%65tc/passwd</c> passed a deny on <c>file:///etc/*</c>. The policy now meets the normalized URI,
/// and a URI with no single normalized form is refused.
/// </summary>
public sealed class ResourceUriPolicyTests : IAsyncLifetime
{
    private PolicyGateway _gw = null!;

    public async Task InitializeAsync() => _gw = await PolicyGateway.StartAsync(
        x => x.RespondJsonAsync("{\"jsonrpc\":\"2.0\",\"id\":" + x.Request.IdJson() + ",\"result\":{\"contents\":[]}}"),
        [
            new RuleOptions { Name = "no-etc", Action = "deny", Methods = ["resources/*"], Names = ["file:///etc/*"] },
            new RuleOptions { Name = "everything-else", Action = "allow" },
        ]);

    public async Task DisposeAsync() => await _gw.DisposeAsync();

    private static string Read(string uri) =>
        "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"resources/read\",\"params\":{\"uri\":" + JsonSerializer.Serialize(uri) + "}}";

    [Theory]
    [InlineData("file:///etc/passwd", "no-etc")]
    [InlineData("file:///tmp/../etc/passwd", "no-etc")]
    [InlineData("file://localhost/etc/passwd", "no-etc")]
    [InlineData("FILE:///%65tc/passwd", "no-etc")]
    [InlineData("file:///tmp/%2e%2e/etc/passwd", "no-etc")]
    [InlineData("file:///tmp%2F..%2Fetc/passwd", "(unnormalizable-uri)")]
    [InlineData("file:///tmp\\..\\etc\\passwd", "(unnormalizable-uri)")]
    public async Task Every_spelling_of_a_denied_resource_is_refused(string uri, string rule)
    {
        RawResponse response = await _gw.PostAsync(Read(uri), _gw.Token("alice", "sre"));

        using JsonDocument body = JsonDocument.Parse(response.Body);
        Assert.Equal(-32001, body.RootElement.GetProperty("error").GetProperty("code").GetInt32());
        Assert.Contains(rule == "no-etc" ? "'no-etc'" : "cannot be normalized", body.RootElement.GetProperty("error").GetProperty("message").GetString());
        Assert.Empty(_gw.Upstream.Requests);
    }

    [Fact]
    public async Task Other_resources_pass_unchanged()
    {
        RawResponse response = await _gw.PostAsync(Read("file:///tmp/./notes.txt"), _gw.Token("alice", "sre"));

        Assert.Equal(200, response.Status);
        // The upstream gets the URI as the client wrote it: only the decision uses the normalized form.
        Assert.Contains("file:///tmp/./notes.txt", Assert.Single(_gw.Upstream.Requests).Body);
    }
}
