using FastMcp.Gateway.Tests.Support;
using FastMcp.Mcp;

namespace FastMcp.Gateway.Tests;

/// <summary>
/// An upstream's authentication challenge is about the gateway's credential, never the client's: the client's token
/// is not passed upstream, so nothing the client does can answer it. Relayed, a 401 with the upstream's
/// WWW-Authenticate would start the client's OAuth discovery at the upstream's (internal, or an attacker's)
/// resource metadata and authorization server. The gateway answers 502 and keeps the challenge to itself.
/// </summary>
public sealed class UpstreamChallengeTests
{
    private const string Challenge = "WWW-Authenticate: Bearer realm=\"internal\", resource_metadata=\"http://upstream.internal/.well-known/oauth-protected-resource\"\r\n";

    [Fact]
    public async Task An_upstream_401_is_a_502_without_the_upstreams_challenge()
    {
        await using var upstream = new ScriptedUpstream(x => x.Request.ConnectionNumber == 1
            ? x.RespondAsync(401, "application/json", "{\"error\":\"invalid_token\"}", Challenge)
            : UpstreamScripts.Echo(x));
        await using var gateway = GatewayUnderTest.Start(upstream.Url);
        using RawClient client = await gateway.ConnectAsync();

        await client.SendAsync(gateway.Post(GatewayUnderTest.ToolsList("1")));
        RawResponse refused = await client.ReadResponseAsync("the gateway's answer to the upstream's 401");

        Assert.Equal(502, refused.Status);
        Assert.Null(refused.Header("WWW-Authenticate"));
        Assert.DoesNotContain("upstream.internal", refused.ToString(), StringComparison.Ordinal);
        (int code, string id) = refused.JsonRpcError();
        Assert.Equal(JsonRpcErrorCodes.UpstreamUnavailable, code);
        Assert.Equal("1", id);
        Assert.Contains("credential", refused.Body, StringComparison.Ordinal);

        await client.SendAsync(gateway.Post(GatewayUnderTest.ToolsList("2")));
        RawResponse next = await client.ReadResponseAsync("the next answer");
        Assert.Equal(200, next.Status);
        Assert.Equal("2", next.IdJson());
    }

    [Fact]
    public async Task A_challenge_on_any_other_answer_is_not_relayed()
    {
        await using var upstream = new ScriptedUpstream(x =>
            x.RespondAsync(403, "application/json", "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32600,\"message\":\"forbidden\"}}",
                Challenge.Replace("realm=\"internal\"", "error=\"insufficient_scope\", scope=\"admin\"", StringComparison.Ordinal)));
        await using var gateway = GatewayUnderTest.Start(upstream.Url);
        using RawClient client = await gateway.ConnectAsync();

        await client.SendAsync(gateway.Post(GatewayUnderTest.ToolsList("1")));
        RawResponse answer = await client.ReadResponseAsync("the relayed 403");

        Assert.Equal(403, answer.Status);
        Assert.Null(answer.Header("WWW-Authenticate"));
        Assert.Contains("forbidden", answer.Body, StringComparison.Ordinal);
    }
}
