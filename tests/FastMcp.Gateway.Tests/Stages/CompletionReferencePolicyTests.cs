using System.Text.Json;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// completion/complete asks the upstream for values of a prompt's or resource template's argument (names, ids,
/// paths the server knows). The policy decided it without seeing which prompt or template: a rule denying
/// <c>admin_*</c> prompts did not match their completion, so a caller refused the prompt still got its argument
/// values. The policy now sees <c>params.ref</c>'s name (ref/prompt) or URI template (ref/resource) as the target,
/// and a completion that names neither is refused before the policy.
/// </summary>
public sealed class CompletionReferencePolicyTests : IAsyncLifetime
{
    private PolicyGateway _gw = null!;

    public async Task InitializeAsync() => _gw = await PolicyGateway.StartAsync(
        x => x.RespondJsonAsync("{\"jsonrpc\":\"2.0\",\"id\":" + x.Request.IdJson() + ",\"result\":{\"completion\":{\"values\":[\"acct-1\"]}}}"),
        [
            new RuleOptions { Name = "no-admin-prompts", Action = "deny", Names = ["admin_*"] },
            new RuleOptions { Name = "no-secret-templates", Action = "deny", Names = ["secret://*"] },
            new RuleOptions { Name = "public-prompts-only", Action = "allow", Methods = ["completion/complete"], Names = ["public_*", "docs://*"] },
            new RuleOptions { Name = "everything-else", Action = "allow", Methods = ["initialize", "tools/*", "prompts/*", "resources/*"] },
        ]);

    public async Task DisposeAsync() => await _gw.DisposeAsync();

    private static string Complete(string reference) =>
        "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"completion/complete\",\"params\":{\"ref\":" + reference
        + ",\"argument\":{\"name\":\"account\",\"value\":\"ac\"}}}";

    [Theory]
    [InlineData("""{"type":"ref/prompt","name":"admin_accounts"}""", "no-admin-prompts")]
    [InlineData("""{"name":"admin_accounts","type":"ref/prompt"}""", "no-admin-prompts")]
    [InlineData("""{"type":"ref/prompt","name":"admin\u005faccounts"}""", "no-admin-prompts")]
    [InlineData("""{"type":"ref\/resource","uri":"secret://{account}"}""", "no-secret-templates")]
    [InlineData("""{"type":"ref/prompt","name":"team_accounts"}""", "(default)")]
    public async Task A_completion_is_decided_on_the_prompt_or_template_it_completes(string reference, string rule)
    {
        RawResponse response = await _gw.PostAsync(Complete(reference), _gw.Token("carol", "contractors"));

        using JsonDocument body = JsonDocument.Parse(response.Body);
        Assert.Equal(-32001, body.RootElement.GetProperty("error").GetProperty("code").GetInt32());
        if (rule != "(default)") Assert.Contains($"'{rule}'", body.RootElement.GetProperty("error").GetProperty("message").GetString());
        Assert.Empty(_gw.Upstream.Requests);
    }

    [Theory]
    [InlineData("""{"type":"ref/prompt","name":"public_accounts"}""")]
    [InlineData("""{"type":"ref/resource","uri":"docs://{page}"}""")]
    public async Task A_completion_of_an_allowed_target_is_forwarded_unchanged(string reference)
    {
        string request = Complete(reference);
        RawResponse response = await _gw.PostAsync(request, _gw.Token("carol", "contractors"));

        Assert.Equal(200, response.Status);
        Assert.Contains("acct-1", response.Body);
        Assert.Equal(request, Assert.Single(_gw.Upstream.Requests).Body);
    }

    [Theory]
    [InlineData("""{"jsonrpc":"2.0","id":7,"method":"completion/complete","params":{"argument":{"name":"a","value":"b"}}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":7,"method":"completion/complete","params":{"ref":{"type":"ref/tool","name":"public_x"},"argument":{"name":"a","value":"b"}}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":7,"method":"completion/complete","params":{"ref":{"type":"ref/prompt","uri":"public_x"},"argument":{"name":"a","value":"b"}}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":7,"method":"completion/complete","params":{"ref":{"type":"ref/prompt","name":7},"argument":{"name":"a","value":"b"}}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":7,"method":"completion/complete","params":{"ref":"public_x","argument":{"name":"a","value":"b"}}}""")]
    public async Task A_completion_that_names_no_prompt_or_template_is_refused(string request)
    {
        RawResponse response = await _gw.PostAsync(request, _gw.Token("carol", "contractors"));

        Assert.Equal(400, response.Status);
        using JsonDocument body = JsonDocument.Parse(response.Body);
        Assert.Equal(-32602, body.RootElement.GetProperty("error").GetProperty("code").GetInt32());
        Assert.Empty(_gw.Upstream.Requests);
    }

    [Theory]
    // A case-insensitive decoder (Go's encoding/json) reads "Name" as name: which one it takes is not the gateway's to guess.
    [InlineData("""{"type":"ref/prompt","name":"public_accounts","Name":"admin_accounts"}""")]
    [InlineData("""{"type":"ref/prompt","name":"public_accounts","name":"admin_accounts"}""")]
    public async Task A_reference_a_server_could_read_two_ways_is_refused(string reference)
    {
        RawResponse response = await _gw.PostAsync(Complete(reference), _gw.Token("carol", "contractors"));

        Assert.Equal(400, response.Status);
        Assert.Empty(_gw.Upstream.Requests);
    }

    [Fact]
    public async Task The_audit_record_names_what_was_completed()
    {
        await _gw.PostAsync(Complete("""{"type":"ref/prompt","name":"admin_accounts"}"""), _gw.Token("carol", "contractors"));

        string[] records = await _gw.StopAndReadAuditAsync();
        string denied = Assert.Single(records, r => r.Contains("\"completion/complete\"") && r.Contains("\"Denied\""));
        using JsonDocument record = JsonDocument.Parse(denied);
        Assert.Equal("admin_accounts", record.RootElement.GetProperty("component").GetProperty("target").GetString());
        Assert.Equal("no-admin-prompts", record.RootElement.GetProperty("rule").GetString());
    }
}
