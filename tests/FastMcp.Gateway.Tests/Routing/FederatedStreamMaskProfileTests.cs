using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Policy;
using static FastMcp.Gateway.Tests.Routing.FederatedSessionRequestPolicyTests;

namespace FastMcp.Gateway.Tests.Routing;

/// <summary>
/// On a federated path's merged GET stream each member's events are masked with the profile of the rule that allowed the GET
/// on that member (the default for a member no profile rule covers), and after a reload with the profile of the rule that
/// allows it then. Both members send a card number on their streams.
/// </summary>
public sealed class FederatedStreamMaskProfileTests
{
    private const string Card = " card 4111111111111111";

    private static void ContractorProfile(GatewayOptions o) =>
        o.Masking.Profiles["contractor"] = new MaskingProfileOptions { KeepFirst = 0, KeepLast = 0 };

    private static RuleOptions StrictOn(string member) =>
        new() { Name = $"strict-on-{member}", Action = "allow", Upstreams = [member], MaskProfile = "contractor" };

    private static RuleOptions Sessions => new() { Name = "sessions", Action = "allow", Methods = ["initialize", "logging/setLevel", "notifications/*"] };

    /// <summary>The data of the message that starts with <paramref name="mark"/> in <paramref name="text"/>.</summary>
    private static string Data(string text, string mark)
    {
        int at = text.IndexOf(mark, StringComparison.Ordinal);
        Assert.True(at >= 0, $"no message {mark} in: {text}");
        return text[at..text.IndexOf('"', at)];
    }

    [Fact]
    public async Task Each_members_events_are_masked_with_the_profile_of_the_rule_that_allowed_the_get_on_it()
    {
        await using var a = new ScriptedUpstream(Member("a", dataSuffix: Card));
        await using var b = new ScriptedUpstream(Member("b", dataSuffix: Card));
        await using PolicyGateway gw = await FederatedAsync(a, b, [StrictOn("a"), Sessions], configure: ContractorProfile);
        string token = gw.Token("alice");
        string session = await InitializeAsync(gw, token);

        (RawClient client, System.Text.StringBuilder merged) = await OpenMergedStreamAsync(gw, token, session);
        client.Dispose();

        Assert.Equal("log-from-a card ****************", Data(merged.ToString(), "log-from-a"));
        Assert.Equal("log-from-b card 411111******1111", Data(merged.ToString(), "log-from-b"));
    }

    [Fact]
    public async Task After_a_reload_each_members_following_events_take_the_profile_of_the_rule_that_allows_them_now()
    {
        var resume = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var a = new ScriptedUpstream(Member("a", resume, Card));
        await using var b = new ScriptedUpstream(Member("b", resume, Card));
        await using PolicyGateway gw = await FederatedAsync(a, b, [StrictOn("a"), Sessions], configure: ContractorProfile);
        string token = gw.Token("alice");
        string session = await InitializeAsync(gw, token);
        (RawClient client, System.Text.StringBuilder merged) = await OpenMergedStreamAsync(gw, token, session);
        using RawClient _ = client;

        // The profile moves from a to b.
        Reload(gw, [StrictOn("b"), Sessions]);
        resume.SetResult();
        string? chunk;
        for (int i = 0; i < 10 && (chunk = await client.ReadChunkAsync("the rest of the merged stream")) is not null; i++) merged.Append(chunk);

        Assert.Equal("log-from-late-a card 411111******1111", Data(merged.ToString(), "log-from-late-a"));
        Assert.Equal("log-from-late-b card ****************", Data(merged.ToString(), "log-from-late-b"));
    }
}
