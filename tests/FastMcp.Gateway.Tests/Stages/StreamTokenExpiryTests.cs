using System.Text.Json;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Identity;
using FastMcp.Policy;
using static FastMcp.Gateway.Tests.Support.AuditRecordFields;
using static FastMcp.Gateway.Tests.Support.NotifyingUpstream;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// An event stream ends when the token that opened it would no longer be admitted: a GET stream at its token's exp (plus
/// identity.clockSkewSeconds, 0 here), even with no event coming, and at its next event once the issuer retired the key
/// that verified the token. The client sees a clean end of the chunked body (it reconnects with a fresh token), the end
/// is recorded and counted. POST answer streams go on unless identity.streamsEndWithToken is "all".
/// </summary>
public sealed class StreamTokenExpiryTests
{
    private static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(3);
    private const string Late = "\"late\"";

    private static string Progress(string text) =>
        "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{\"progressToken\":1,\"progress\":1,\"message\":\"" + text + "\"}}";

    /// <summary>An upstream that sends an "early" event, waits for Resume, then a "late" one (and a POST's answer).</summary>
    private static NotifyingUpstream EarlyThenLate() => new("{}", pauseAfterFirst: true, Progress("early"), Progress("late"));

    private static List<RuleOptions> Calls => [new RuleOptions { Name = "calls", Action = "allow", Methods = ["initialize", "tools/call"] }];

    private static Task<PolicyGateway> StartAsync(NotifyingUpstream upstream, string streamsEndWithToken = StreamsEndWithToken.Standalone,
        Action<IdentityOptions>? identity = null) =>
        PolicyGateway.StartAsync(upstream.Script, Calls, o =>
        {
            o.Identity!.ClockSkewSeconds = 0;
            o.Identity.StreamsEndWithToken = streamsEndWithToken;
            identity?.Invoke(o.Identity);
        });

    /// <summary>Waits (bounded) until a token minted at <paramref name="mintedAt"/> with <see cref="Lifetime"/> has expired.</summary>
    private static async Task PastExpiryAsync(DateTimeOffset mintedAt)
    {
        TimeSpan left = mintedAt + Lifetime + TimeSpan.FromMilliseconds(200) - DateTimeOffset.UtcNow;
        if (left > TimeSpan.Zero) await Task.Delay(left);
    }

    private static async Task<string> MetricsAsync(PolicyGateway g) => await AdminGet.TextAsync(g.Gateway.AdminEndpoint, "/metrics");

    /// <summary>The end records of GET streams (no direction, method GET or none) whose detail names why the gateway ended them.</summary>
    private static List<JsonElement> TokenEndRecords(List<JsonElement> records, string why) =>
        [.. records.Where(r => Field(r, "type") == "McpExchange" && Field(r, "direction") is null && (Field(r, "detail") ?? "").Contains(why, StringComparison.Ordinal))];

    [Fact]
    public async Task A_get_stream_ends_cleanly_at_its_tokens_expiry_and_an_event_after_it_is_never_relayed()
    {
        NotifyingUpstream upstream = EarlyThenLate();
        await using PolicyGateway g = await StartAsync(upstream);
        DateTimeOffset minted = DateTimeOffset.UtcNow;
        string token = g.ShortLivedToken("alice", Lifetime);
        await InitializeAsync(g, token);
        using RawClient client = await OpenGetStreamAsync(g, token);
        Assert.Contains("early", await client.ReadChunkAsync("the first event"));

        await PastExpiryAsync(minted);
        upstream.Resume.SetResult();
        // ReadStreamAsync stops at the chunked terminator: a reset or a timeout throws instead.
        string rest = await ReadStreamAsync(client);

        Assert.DoesNotContain(Late, rest);
        Assert.Contains("fastmcp_streams_ended_total{reason=\"token_expired\"} 1\n", await MetricsAsync(g));
        List<JsonElement> ends = TokenEndRecords(Parse(await g.StopAndReadAuditAsync()), "the token that opened it expired");
        JsonElement end = Assert.Single(ends);
        Assert.Equal("alice", end.GetProperty("user").GetProperty("subject").GetString());
    }

    [Fact]
    public async Task An_idle_get_stream_ends_at_expiry_without_any_upstream_event_and_a_fresh_token_opens_it_again()
    {
        NotifyingUpstream upstream = EarlyThenLate();
        await using PolicyGateway g = await StartAsync(upstream);
        string token = g.ShortLivedToken("alice", Lifetime);
        await InitializeAsync(g, token);
        using RawClient client = await OpenGetStreamAsync(g, token);
        Assert.Contains("early", await client.ReadChunkAsync("the first event"));

        // The upstream sends nothing more (it waits for Resume): the end comes from the gateway alone, within the read timeout.
        Assert.Null(await client.ReadChunkAsync("the end of the stream at the token's expiry"));

        // The client reconnects the stream with a fresh token: the spec's resumption path.
        using RawClient again = await OpenGetStreamAsync(g, g.Token("alice"));
        Assert.Contains("early", await again.ReadChunkAsync("the first event of the reopened stream"));
        upstream.Resume.TrySetResult();
    }

    [Fact]
    public async Task A_get_stream_ends_at_its_next_event_once_the_issuer_retired_the_key_that_verified_its_token()
    {
        NotifyingUpstream upstream = EarlyThenLate();
        string jwksPath = Path.Combine(Path.GetTempPath(), "fastmcp-streamkeys-" + Guid.NewGuid().ToString("N") + ".json");
        using var keys = new JwksFileKeys(jwksPath);
        try
        {
            await using PolicyGateway g = await StartAsync(upstream, identity: i => i.Issuers = [new TrustedIssuerOptions { Issuer = JwksFileKeys.Issuer, JwksFile = jwksPath }]);
            string token = keys.Token("carol", g.Gateway.Options.Identity!.Resource);
            await InitializeAsync(g, token);
            using RawClient client = await OpenGetStreamAsync(g, token);
            Assert.Contains("early", await client.ReadChunkAsync("the first event"));

            keys.Publish(first: false);
            Assert.Empty(await g.Gateway.Stages.Authentication!.RefreshKeysAsync());
            upstream.Resume.SetResult();
            string rest = await ReadStreamAsync(client);

            Assert.DoesNotContain(Late, rest);
            Assert.Contains("fastmcp_streams_ended_total{reason=\"key_retired\"} 1\n", await MetricsAsync(g));
            Assert.Single(TokenEndRecords(Parse(await g.StopAndReadAuditAsync()), "the signing key that verified its token is no longer published"));
        }
        finally
        {
            File.Delete(jwksPath);
        }
    }

    [Fact]
    public async Task A_get_stream_ends_at_its_next_event_once_a_reload_put_another_identity_configuration_in_force()
    {
        NotifyingUpstream upstream = EarlyThenLate();
        await using PolicyGateway g = await StartAsync(upstream);
        string token = g.Token("alice");
        await InitializeAsync(g, token);
        using RawClient client = await OpenGetStreamAsync(g, token);
        Assert.Contains("early", await client.ReadChunkAsync("the first event"));

        // What a reload of identity.* does (Hosting/IdentityReload.cs): a new validator, with an empty cache, in force.
        await g.Gateway.Stages.Authentication!.ReplaceAsync(g.Gateway.Options.Identity!, CancellationToken.None);
        upstream.Resume.SetResult();
        string rest = await ReadStreamAsync(client);

        Assert.DoesNotContain(Late, rest);
        Assert.Contains("fastmcp_streams_ended_total{reason=\"token_unverified\"} 1\n", await MetricsAsync(g));
        // The client reconnects with the same, still valid token: verified again under the configuration in force.
        using RawClient again = await OpenGetStreamAsync(g, token);
        Assert.Contains("early", await again.ReadChunkAsync("the first event of the reopened stream"));
        Assert.Single(TokenEndRecords(Parse(await g.StopAndReadAuditAsync()), "its token is no longer verified under the identity configuration in force"));
    }

    [Theory]
    [InlineData(StreamsEndWithToken.Standalone)]
    [InlineData(StreamsEndWithToken.All)]
    public async Task A_post_answer_stream_goes_on_past_expiry_unless_all_streams_end_with_their_token(string setting)
    {
        NotifyingUpstream upstream = EarlyThenLate();
        await using PolicyGateway g = await StartAsync(upstream, setting);
        DateTimeOffset minted = DateTimeOffset.UtcNow;
        string token = g.ShortLivedToken("alice", Lifetime);
        await InitializeAsync(g, token);

        Task<RawResponse> call = g.PostAsync(ToolCall, token, SessionHeaders);
        await PastExpiryAsync(minted);
        upstream.Resume.SetResult();
        RawResponse response = await call;

        Assert.Equal(200, response.Status);
        Assert.Contains("early", response.Body);
        if (setting == StreamsEndWithToken.All)
        {
            Assert.DoesNotContain(Late, response.Body);
            Assert.DoesNotContain("\"done\"", response.Body);
            Assert.Contains("fastmcp_streams_ended_total{reason=\"token_expired\"} 1\n", await MetricsAsync(g));
        }
        else
        {
            Assert.Contains(Late, response.Body);
            Assert.Contains("\"done\"", response.Body);
            Assert.Contains("fastmcp_streams_ended_total{reason=\"token_expired\"} 0\n", await MetricsAsync(g));
        }
    }

    [Fact]
    public async Task In_anonymous_mode_a_get_stream_relays_every_event()
    {
        NotifyingUpstream upstream = EarlyThenLate();
        await using PolicyGateway g = await StartAsync(upstream, StreamsEndWithToken.All, i => i.Mode = IdentityModes.Anonymous);
        await InitializeAsync(g, "unused");
        using RawClient client = await OpenGetStreamAsync(g, "unused");
        Assert.Contains("early", await client.ReadChunkAsync("the first event"));

        upstream.Resume.SetResult();
        Assert.Contains(Late, await ReadStreamAsync(client));
        Assert.Contains("fastmcp_streams_ended_total{reason=\"token_expired\"} 0\n", await MetricsAsync(g));
    }
}
