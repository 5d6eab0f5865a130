using System.Net;
using System.Text.Json;
using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Hosting;
using FastMcp.Gateway.Stages;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// An allow rule's maskProfile picks a named profile of masking.profiles for the exchanges it forwards (how many
/// digits stay visible, what a card number in the request does); a profile that does not exist is a configuration error.
/// </summary>
public sealed class MaskProfileTests
{
    private const string Pan = "4111111111111111";

    private static List<RuleOptions> PaymentsRules(string profile = "card-processor") =>
    [
        new RuleOptions { Name = "payments", Action = "allow", Methods = ["tools/call"], Names = ["charge_card"], MaskProfile = profile },
        new RuleOptions { Name = "rest", Action = "allow" },
    ];

    private static void CardProcessorProfile(MaskingOptions m) =>
        m.Profiles["card-processor"] = new MaskingProfileOptions { Requests = "forward", KeepFirst = 0 };

    [Fact]
    public async Task The_allowing_rules_profile_masks_its_exchange_and_other_calls_keep_the_default()
    {
        await using CardGateway g = await CardGateway.StartAsync(CardProcessorProfile, PaymentsRules());
        RawResponse charged = await g.PostAsync(CardGateway.ToolCall("1", "charge_card", $$"""{"card":"{{Pan}}"}"""));
        RawResponse echoed = await g.PostAsync(CardGateway.ToolCall("2", "echo", $$"""{"card":"{{Pan}}"}"""));

        UpstreamRequest[] forwarded = [.. g.Upstream.Requests];
        Assert.Contains($"\"card\":\"{Pan}\"", forwarded[0].Body);               // the profile forwards the card number
        Assert.Contains("\"card\":\"411111******1111\"", forwarded[1].Body);    // the default masks it
        // Responses are masked in every profile, with the profile's visible digits.
        Assert.Contains("************1111", charged.ResultString("body"));
        Assert.DoesNotContain(Pan, charged.Body);
        Assert.Contains("411111******1111", echoed.ResultString("body"));

        List<string> records = await g.StopAndReadAuditAsync();
        Assert.Empty(AuditCards.FindCardNumbers(records));
        Assert.Contains(records, r => r.Contains("\"detail\":\"request\"") && r.Contains("\"rule\":\"payments\"") && r.Contains("************1111"));
    }

    [Fact]
    public async Task A_rule_naming_a_profile_that_does_not_exist_stops_the_gateway_from_starting()
    {
        var e = await Assert.ThrowsAsync<ConfigurationException>(() => CardGateway.StartAsync(CardProcessorProfile, PaymentsRules("card-procesor")));
        Assert.Equal("policy.rules[payments].maskProfile", e.Field);
        Assert.Contains("card-processor", e.Message); // the profiles that do exist are named
    }

    [Fact]
    public async Task A_profile_on_a_rule_that_does_not_allow_is_refused()
    {
        List<RuleOptions> rules = [new RuleOptions { Name = "no-admin", Action = "deny", Names = ["admin_*"], MaskProfile = "card-processor" }];
        var e = await Assert.ThrowsAsync<ConfigurationException>(() => CardGateway.StartAsync(CardProcessorProfile, rules));
        Assert.Equal("policy.rules[no-admin].maskProfile", e.Field);
    }

    [Fact]
    public async Task A_profile_with_masking_disabled_is_refused()
    {
        var e = await Assert.ThrowsAsync<ConfigurationException>(() => CardGateway.StartAsync(m => m.Enabled = false, PaymentsRules()));
        Assert.Equal("policy.rules[payments].maskProfile", e.Field);
    }

    [Fact]
    public async Task A_profile_with_an_invalid_field_names_it()
    {
        var e = await Assert.ThrowsAsync<ConfigurationException>(() =>
            CardGateway.StartAsync(m => m.Profiles["loose"] = new MaskingProfileOptions { Requests = "pass" }));
        Assert.Equal("masking.profiles.loose.requests", e.Field);
    }

    [Fact]
    public void A_reload_whose_policy_names_an_unknown_profile_is_refused_and_the_policy_in_force_stays()
    {
        string dir = Path.Combine(Path.GetTempPath(), "fastmcp-profile-reload-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            string path = Path.Combine(dir, "fastmcp.json");
            string Config(string profile) => JsonSerializer.Serialize(new
            {
                identity = new { mode = "anonymous" },
                policy = new { rules = new object[] { new { name = "payments", action = "allow", maskProfile = profile } } },
            });
            File.WriteAllText(path, Config("card-processor"));
            var masker = new FastMcp.Pan.PanMasker(new FastMcp.Pan.PanMaskingOptions { FingerprintKey = new byte[16] });
            var masking = new PanMasking(masker, RequestCardMode.Mask, RequestNumberMode.Detect,
                new Dictionary<string, PanMasking> { ["card-processor"] = new(masker, RequestCardMode.Forward) });
            PolicyEngine first = GatewayStages.CompilePolicy(ConfigurationLoader.Load(path).Policy);
            var authorization = new PolicyAuthorization(first);
            using var reloader = new ConfigurationReloader(path, authorization, null, masking, TimeSpan.FromHours(1));

            File.WriteAllText(path, Config("unknown"));
            Assert.False(reloader.Reload("test"));
            Assert.Same(first, authorization.Engine);
            File.WriteAllText(path, Config("card-processor"));
            Assert.True(reloader.Reload("test"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
