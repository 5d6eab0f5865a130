using System.Text;
using System.Text.Json.Nodes;
using FastMcp.Gateway.Approvals;
using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Hosting;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// PCI DSS 3.3.1: sensitive authentication data must not be accepted where it is not needed. Through the real gateway a
/// rule with containsSensitiveData refuses a tools/call carrying a card security code, a PIN or track data, seen by the
/// detection masking uses (the configured member names, the track detector, base64 payloads); the upstream gets nothing,
/// and neither the client's error nor the audit record holds the value.
/// </summary>
public sealed class SensitiveDataPolicyTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fastmcp-sadpolicy-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static List<RuleOptions> DenySensitiveRules(string pointer = "") =>
    [
        new RuleOptions { Name = "no-sad", Action = "deny", Methods = ["tools/call"], Message = "arguments may not carry security codes, PINs or track data",
            Arguments = [new ArgumentConditionOptions { Pointer = pointer, ContainsSensitiveData = true }] },
        new RuleOptions { Name = "all", Action = "allow" },
    ];

    private static string Base64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));

    public static TheoryData<string> SensitiveArguments() => new()
    {
        """{"card":{"number":"4111111111111111","cvv":"9731"}}""",
        """{"payment":{"Card_Security-Code":9731}}""",
        """{"c\u0076c2":"9731"}""",
        """{"pinBlock":{"format":0,"value":"0412AC89ABCDEF67"}}""",
        """{"swipe":";4111111111111111=28129731000012345678?"}""",
        """{"swipe":"%B4111111111111111^DOE/JOHN^28129731000001234000000?"}""",
        """{"items":[{"note":"ok"},{"swipe":";4111111111111111=28129731000012345678?"}]}""",
        "{\"file\":{\"blob\":\"" + Base64("receipt ;4111111111111111=28129731000012345678? thanks") + "\"}}",
    };

    [Theory]
    [MemberData(nameof(SensitiveArguments))]
    public async Task A_deny_rule_refuses_a_call_carrying_sensitive_authentication_data(string arguments)
    {
        await using CardGateway g = await CardGateway.StartAsync(rules: DenySensitiveRules());
        RawResponse answer = await g.PostAsync(CardGateway.ToolCall("1", "charge", arguments));

        Assert.Equal(200, answer.Status);
        Assert.Equal((-32001, "1"), answer.JsonRpcError());
        Assert.Contains("may not carry security codes", answer.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("9731", answer.Body, StringComparison.Ordinal);
        Assert.Empty(g.Upstream.Requests);

        List<string> records = await g.StopAndReadAuditAsync();
        Assert.Contains(records, r => r.Contains("\"type\":\"Denied\"", StringComparison.Ordinal) && r.Contains("\"rule\":\"no-sad\"", StringComparison.Ordinal));
        Assert.DoesNotContain(records, r => WithoutGatewayDigits(r) is var fields
            && (fields.Contains("9731", StringComparison.Ordinal) || fields.Contains("0412AC89ABCDEF67", StringComparison.Ordinal)));
    }

    /// <summary>
    /// A record without the members the gateway makes of random or clock digits (time, sequence, trace and span ids,
    /// latency, card fingerprints): "9731" turns up in them by chance (a 48-hex-digit trace holds it about once in 1,400
    /// records), which is not the caller's code leaking. Every member the caller's input reaches is kept.
    /// </summary>
    private static string WithoutGatewayDigits(string record)
    {
        JsonObject o = JsonNode.Parse(record)!.AsObject();
        foreach (string generated in new[] { "seq", "time", "trace", "latencyUs", "cardFingerprints" }) o.Remove(generated);
        return o.ToJsonString();
    }

    public static TheoryData<string> CleanArguments() => new()
    {
        """{"note":"order 9731"}""",
        // A card number alone is not sensitive authentication data (containsCardNumber is its own condition).
        """{"card":"4111111111111111","expiry":"12/28"}""",
        // A member named as a code whose value masking leaves (nothing to blank).
        """{"cvv":"","pin":null,"cvc":true}""",
        """{"cvvPolicy":"required","pins":3}""",
    };

    [Theory]
    [MemberData(nameof(CleanArguments))]
    public async Task A_call_without_it_is_allowed_by_the_same_policy(string arguments)
    {
        await using CardGateway g = await CardGateway.StartAsync(rules: DenySensitiveRules());
        RawResponse answer = await g.PostAsync(CardGateway.ToolCall("2", "charge", arguments));

        Assert.Equal("2", answer.IdJson());
        Assert.DoesNotContain("\"error\"", answer.Body, StringComparison.Ordinal);
        Assert.Single(g.Upstream.Requests);
    }

    [Fact]
    public async Task A_pointer_naming_the_code_itself_sees_it()
    {
        await using CardGateway g = await CardGateway.StartAsync(rules: DenySensitiveRules("/payment/cvv"));

        Assert.Equal((-32001, "3"), (await g.PostAsync(CardGateway.ToolCall("3", "charge", """{"payment":{"cvv":"9731"}}"""))).JsonRpcError());
        Assert.Equal("4", (await g.PostAsync(CardGateway.ToolCall("4", "charge", """{"payment":{"amount":12}}"""))).IdJson());
        Assert.Single(g.Upstream.Requests);
    }

    [Fact]
    public async Task A_require_approval_rule_holds_the_call_instead_of_forwarding_it()
    {
        await using CardGateway g = await CardGateway.StartAsync(rules:
        [
            new RuleOptions { Name = "sad-needs-approval", Action = "require_approval", Methods = ["tools/call"], Approvers = ["payments-leads"],
                Arguments = [new ArgumentConditionOptions { Pointer = "", ContainsSensitiveData = true }] },
            new RuleOptions { Name = "all", Action = "allow" },
        ]);
        using RawClient client = await g.Gateway.ConnectAsync();
        await client.SendAsync(g.Gateway.Post(CardGateway.ToolCall("5", "charge", """{"cvv":"9731"}"""), $"Authorization: Bearer {g.Token}\r\n"));
        PendingApproval? held = null;
        for (int i = 0; i < 200 && held is null; i++)
        {
            List<PendingApproval> pending = g.Gateway.Stages.Approvals!.List(includeDecided: false);
            if (pending.Count > 0) held = pending[0];
            else await Task.Delay(50);
        }
        Assert.NotNull(held);
        Assert.Equal("sad-needs-approval", held.RuleName);
        Assert.Empty(g.Upstream.Requests);
    }

    [Fact]
    public async Task The_condition_uses_the_configured_member_names()
    {
        await using CardGateway g = await CardGateway.StartAsync(masking: m => m.SensitiveMembers = ["otp"], rules: DenySensitiveRules());

        Assert.Equal((-32001, "6"), (await g.PostAsync(CardGateway.ToolCall("6", "charge", """{"OTP":"9731"}"""))).JsonRpcError());
        // cvv is no longer on the list: masking leaves it, and so does the policy.
        Assert.Equal("7", (await g.PostAsync(CardGateway.ToolCall("7", "charge", """{"cvv":"123"}"""))).IdJson());
        // Track data needs no name.
        Assert.Equal((-32001, "8"), (await g.PostAsync(CardGateway.ToolCall("8", "charge", """{"t":";4111111111111111=2812101?"}"""))).JsonRpcError());
    }

    [Fact]
    public async Task An_empty_member_list_with_such_a_rule_is_refused_at_start_naming_the_condition()
    {
        var e = await Assert.ThrowsAsync<ConfigurationException>(() =>
            CardGateway.StartAsync(masking: m => m.SensitiveMembers = [], rules: DenySensitiveRules()));
        Assert.Equal("policy.rules[no-sad].arguments[0].containsSensitiveData", e.Field);
        Assert.Contains("masking.sensitiveMembers", e.Message, StringComparison.Ordinal);
    }

    private static string Config(string sensitiveMembers) => $$"""
        {
          "listen": ["127.0.0.1:8080"],
          "identity": { "mode": "anonymous" },
          "upstream": { "url": "http://127.0.0.1:3001/mcp" },
          "masking": { "sensitiveMembers": {{sensitiveMembers}} },
          "policy": { "rules": [
            { "name": "no-sad", "action": "deny", "methods": ["tools/call"], "arguments": [ { "pointer": "", "containsSensitiveData": true } ] },
            { "name": "all", "action": "allow" } ] }
        }
        """;

    [Fact]
    public async Task A_reload_that_changes_the_member_names_changes_what_the_policy_sees_and_an_empty_list_is_rejected()
    {
        await using CardGateway g = await CardGateway.StartAsync(rules: DenySensitiveRules());
        string path = Path.Combine(_dir, "fastmcp.json");
        File.WriteAllText(path, Config("[\"cvv\"]"));
        using var reloader = new ConfigurationReloader(path, g.Gateway.Stages.Authorization!, null, g.Gateway.Stages.Masking!, TimeSpan.FromHours(1), g.Gateway.Options);

        Assert.Equal("1", (await g.PostAsync(CardGateway.ToolCall("1", "charge", """{"otp":"9731"}"""))).IdJson());

        File.WriteAllText(path, Config("[\"cvv\", \"otp\"]"));
        Assert.True(reloader.Reload("test"));
        Assert.Equal((-32001, "2"), (await g.PostAsync(CardGateway.ToolCall("2", "charge", """{"otp":"9731"}"""))).JsonRpcError());

        // An empty list would leave the rule seeing track data only: the reload is rejected, and the policy in force stays.
        File.WriteAllText(path, Config("[]"));
        Assert.False(reloader.Reload("test"));
        Assert.Equal((-32001, "3"), (await g.PostAsync(CardGateway.ToolCall("3", "charge", """{"otp":"9731"}"""))).JsonRpcError());
        Assert.Single(g.Upstream.Requests);
    }
}
