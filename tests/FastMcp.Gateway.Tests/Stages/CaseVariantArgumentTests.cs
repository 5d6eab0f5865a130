using System.Text.Json;
using FastMcp.Gateway.Approvals;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// An argument named <c>"PATH"</c> alone (no <c>"path"</c> beside it, so the duplicate scan lets it through) is
/// <c>path</c> to a Go tool whose struct field is tagged <c>json:"path"</c>: encoding/json matches names ignoring
/// case. A condition on <c>/path</c> cannot say what that tool reads, so through the real gateway it fails closed:
/// a deny or require_approval rule's condition holds, an allow rule's does not, and nothing reaches the upstream.
/// </summary>
public sealed class CaseVariantArgumentTests
{
    private static string ReadFile(string id, string arguments) =>
        "{\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"method\":\"tools/call\",\"params\":{\"name\":\"read_file\",\"arguments\":" + arguments + "}}";

    private static Task<PolicyGateway> StartAsync(List<RuleOptions> rules) => PolicyGateway.StartAsync(
        x => x.RespondJsonAsync("{\"jsonrpc\":\"2.0\",\"id\":" + x.Request.IdJson() + ",\"result\":{\"content\":[]}}"), rules);

    private static void AssertDeniedByPolicy(RawResponse response, string? rule)
    {
        Assert.Equal(200, response.Status);
        using JsonDocument body = JsonDocument.Parse(response.Body);
        JsonElement error = body.RootElement.GetProperty("error");
        Assert.Equal(-32001, error.GetProperty("code").GetInt32());
        if (rule is not null) Assert.Contains(rule, error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    private static List<RuleOptions> DenyEtcThenAllow(string pointer) =>
    [
        new RuleOptions { Name = "no-etc", Action = "deny", Methods = ["tools/call"],
            Arguments = [new ArgumentConditionOptions { Pointer = pointer, Regex = "^/etc/" }] },
        new RuleOptions { Name = "rest", Action = "allow" },
    ];

    public static TheoryData<string, string> CaseVariants() => new()
    {
        { "/path", """{"PATH":"/etc/passwd"}""" },
        { "/path", """{"Path":"/etc/passwd"}""" },
        { "/path", """{"P\u0061th":"/etc/passwd"}""" },
        { "/path", """{"mode":"r","pAtH":"/etc/passwd","n":1}""" },
        // A step before the last, in either spelling of its parent.
        { "/options/path", """{"Options":{"path":"/etc/passwd"}}""" },
        { "/options/path", """{"options":{"PATH":"/etc/passwd"}}""" },
        // The object holding an array the pointer indexes.
        { "/files/0", """{"FILES":["/etc/passwd"]}""" },
        { "/files/1/path", """{"files":[{"path":"/tmp/a"},{"Path":"/etc/passwd"}]}""" },
        // U+212A KELVIN SIGN and U+017F LONG S, which Go folds to k and s, raw and escaped.
        { "/key", """{"\u212Aey":"/etc/passwd"}""" },
        { "/key", """{"Key":"/etc/passwd"}""" },
        { "/source", """{"ſource":"/etc/passwd"}""" },
    };

    [Theory]
    [MemberData(nameof(CaseVariants))]
    public async Task A_deny_rule_fires_on_a_lone_case_variant_of_its_pointer(string pointer, string arguments)
    {
        await using PolicyGateway gw = await StartAsync(DenyEtcThenAllow(pointer));

        AssertDeniedByPolicy(await gw.PostAsync(ReadFile("1", arguments), gw.Token("alice", "dev")), "no-etc");
        Assert.Empty(gw.Upstream.Requests);
    }

    public static TheoryData<string, string> NotVariants() => new()
    {
        { "/path", """{"path":"/tmp/notes.txt"}""" },
        { "/path", """{"paths":"/etc/passwd","pathPrefix":"/etc/","PATH2":"/etc/passwd"}""" },
        // A variant somewhere the pointer does not go.
        { "/path", """{"nested":{"PATH":"/etc/passwd"}}""" },
        { "/options/path", """{"options":{"mode":"r"},"Path":"/etc/passwd"}""" },
        // ß is not ss under simple folding.
        { "/strasse", """{"straße":"/etc/passwd"}""" },
    };

    [Theory]
    [MemberData(nameof(NotVariants))]
    public async Task Other_names_are_decided_as_before(string pointer, string arguments)
    {
        await using PolicyGateway gw = await StartAsync(DenyEtcThenAllow(pointer));

        RawResponse response = await gw.PostAsync(ReadFile("2", arguments), gw.Token("alice", "dev"));
        Assert.Equal(200, response.Status);
        Assert.Equal("2", response.IdJson());
        Assert.Equal(ReadFile("2", arguments), gw.Upstream.SingleRequest().Body);
    }

    [Fact]
    public async Task The_exact_name_is_still_denied()
    {
        await using PolicyGateway gw = await StartAsync(DenyEtcThenAllow("/path"));

        AssertDeniedByPolicy(await gw.PostAsync(ReadFile("3", """{"path":"/etc/passwd"}"""), gw.Token("alice", "dev")), "no-etc");
        Assert.Empty(gw.Upstream.Requests);
    }

    [Fact]
    public async Task A_negated_allow_condition_does_not_let_a_case_variant_through()
    {
        await using PolicyGateway gw = await StartAsync(
        [
            new RuleOptions { Name = "not-etc", Action = "allow", Methods = ["tools/call"],
                Arguments = [new ArgumentConditionOptions { Pointer = "/path", Regex = "^/etc/", Negate = true }] },
        ]);

        Assert.Equal(200, (await gw.PostAsync(ReadFile("4", """{"path":"/tmp/a"}"""), gw.Token("alice", "dev"))).Status);
        AssertDeniedByPolicy(await gw.PostAsync(ReadFile("5", """{"PATH":"/etc/passwd"}"""), gw.Token("alice", "dev")), null);
        Assert.Single(gw.Upstream.Requests);
    }

    [Fact]
    public async Task An_allow_rule_requiring_a_member_to_be_absent_does_not_let_its_case_variant_through()
    {
        await using PolicyGateway gw = await StartAsync(
        [
            new RuleOptions { Name = "no-force", Action = "allow", Methods = ["tools/call"],
                Arguments = [new ArgumentConditionOptions { Pointer = "/force", Exists = false }] },
        ]);

        AssertDeniedByPolicy(await gw.PostAsync(ReadFile("6", """{"path":"/tmp/a","Force":true}"""), gw.Token("alice", "dev")), null);
        Assert.Empty(gw.Upstream.Requests);
    }

    [Fact]
    public async Task A_containsCardNumber_deny_rule_fires_on_a_case_variant_of_its_pointer()
    {
        await using PolicyGateway gw = await StartAsync(
        [
            new RuleOptions { Name = "no-cards-in-note", Action = "deny", Methods = ["tools/call"],
                Arguments = [new ArgumentConditionOptions { Pointer = "/note", ContainsCardNumber = true }] },
            new RuleOptions { Name = "rest", Action = "allow" },
        ]);

        AssertDeniedByPolicy(await gw.PostAsync(ReadFile("7", """{"NOTE":"4111111111111111"}"""), gw.Token("alice", "dev")), "no-cards-in-note");
        Assert.Empty(gw.Upstream.Requests);
    }

    [Fact]
    public async Task An_approval_rule_holds_a_case_variant_of_its_pointer()
    {
        await using PolicyGateway gw = await StartAsync(
        [
            new RuleOptions { Name = "prod-needs-approval", Action = "require_approval", Methods = ["tools/call"],
                Arguments = [new ArgumentConditionOptions { Pointer = "/environment", In = ["prod", "production"] }], Approvers = ["release"] },
            new RuleOptions { Name = "rest", Action = "allow" },
        ]);

        using RawClient client = await gw.Gateway.ConnectAsync();
        await client.SendAsync(gw.Gateway.Post(ReadFile("8", """{"Environment":"prod"}"""), $"Authorization: Bearer {gw.Token("alice", "dev")}\r\n"));
        PendingApproval? held = null;
        for (int i = 0; i < 200 && held is null; i++)
        {
            List<PendingApproval> pending = gw.Gateway.Stages.Approvals!.List(includeDecided: false);
            if (pending.Count > 0) held = pending[0];
            else await Task.Delay(50);
        }
        Assert.NotNull(held);
        Assert.Equal("prod-needs-approval", held.RuleName);
        Assert.Empty(gw.Upstream.Requests);
    }
}
