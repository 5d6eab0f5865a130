using System.Net;
using System.Net.Sockets;
using FastMcp.Gateway.Tests.Support;

namespace FastMcp.Gateway.Tests;

/// <summary>
/// A client that sent Connection: close gets "Connection: close" on the final response (RFC 9112 §9.6), the
/// gateway's own answers (refusals, upstream errors) included, and the connection is then closed.
/// </summary>
public sealed class ClientConnectionCloseTests
{
    public enum Answer { UpstreamUnreachable, EmptyBody, UnparsableBody }

    [Theory]
    [InlineData(Answer.UpstreamUnreachable, 502)]
    [InlineData(Answer.EmptyBody, 400)]
    [InlineData(Answer.UnparsableBody, 400)]
    public async Task The_gateways_own_answer_to_a_closing_client_says_close(Answer answer, int status)
    {
        await using var upstream = new ScriptedUpstream(UpstreamScripts.Echo);
        string upstreamUrl = answer == Answer.UpstreamUnreachable ? $"http://127.0.0.1:{ClosedPort()}/mcp" : upstream.Url;
        await using var gateway = GatewayUnderTest.Start(upstreamUrl);
        using RawClient client = await gateway.ConnectAsync();
        string body = answer switch
        {
            Answer.EmptyBody => "",
            Answer.UnparsableBody => "{\"jsonrpc\":",
            _ => GatewayUnderTest.ToolsList("1"),
        };

        await client.SendAsync(gateway.Post(body, "Connection: close\r\n"));
        RawResponse response = await client.ReadResponseAsync("the gateway's own answer");

        Assert.Equal(status, response.Status);
        Assert.Equal("close", response.Header("Connection"));
        Assert.True(await client.GatewayClosesAsync(), "the gateway closes after the answer, as it said");
        Assert.Empty(upstream.Requests);
    }

    /// <summary>A loopback port nobody listens on: bound, then closed.</summary>
    private static int ClosedPort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }
}
