using System.Net;
using System.Net.Sockets;
using FastMcp.Gateway.Hosting;
using FastMcp.Gateway.Tests.Support;

namespace FastMcp.Gateway.Tests;

/// <summary>A failed upstream exchange is logged naming the upstream and the request, not only the error kind.</summary>
[Collection(LogOutputCollection.Name)]
public sealed class UpstreamFailureLogTests
{
    [Fact]
    public async Task The_log_line_names_the_upstream_the_method_the_id_and_the_client()
    {
        int port = RefusingPort();
        using var lines = new CapturedLog();
        string upstream = $"http://127.0.0.1:{port}/mcp";
        await using var gateway = GatewayUnderTest.Start(upstream);
        using RawClient client = await gateway.ConnectAsync();
        await client.SendAsync(gateway.Post(GatewayUnderTest.ToolsList("\"fail-log-1\"")));
        Assert.Equal(502, (await client.ReadResponseAsync()).Status);
        string line = Array.Find(lines.Text.Split('\n'), l => l.Contains("fail-log-1", StringComparison.Ordinal))
            ?? throw new Xunit.Sdk.XunitException("no log line names the request:\n" + lines.Text);
        Assert.Contains($"upstream {upstream} failed: UpstreamUnreachable", line, StringComparison.Ordinal);
        Assert.Contains("request POST /mcp method=tools/list id=fail-log-1 client=127.0.0.1", line, StringComparison.Ordinal);
    }

    // Each on a gateway of its own: a repeated failure of one upstream is rate-limited to one line per interval.
    [Theory]
    [InlineData("987654", "method=tools/list id=987654 client=")]
    [InlineData("4111111111111111", "method=tools/list id=411111")]
    public async Task A_numeric_id_is_named_as_sent_and_a_card_like_one_masked(string id, string expected)
    {
        int port = RefusingPort();
        using var lines = new CapturedLog();
        await using var gateway = GatewayUnderTest.Start($"http://127.0.0.1:{port}/mcp");
        using RawClient client = await gateway.ConnectAsync();
        await client.SendAsync(gateway.Post(GatewayUnderTest.ToolsList(id)));
        Assert.Equal(502, (await client.ReadResponseAsync()).Status);
        Assert.Contains(lines.Text.Split('\n'), l => l.Contains(expected, StringComparison.Ordinal));
        Assert.DoesNotContain("4111111111111111", lines.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_dead_upstream_does_not_write_a_line_per_refused_request()
    {
        const int Calls = 200;
        int port = RefusingPort();
        using var lines = new CapturedLog();
        string upstream = $"http://127.0.0.1:{port}/mcp";
        await using var gateway = GatewayUnderTest.Start(upstream);
        using RawClient client = await gateway.ConnectAsync();
        for (int i = 0; i < Calls; i++)
        {
            await client.SendAsync(gateway.Post(GatewayUnderTest.ToolsList($"\"flood-{i}\"")));
            Assert.Equal(502, (await client.ReadResponseAsync()).Status);
        }
        string[] failures = Array.FindAll(lines.Text.Split('\n'), l => l.Contains($"upstream {upstream} failed: UpstreamUnreachable", StringComparison.Ordinal));
        // The first is written at once (it names the first request); the rest fall in the same interval unless the
        // run is slow, and then each later line counts what it stood for. Never one line per request.
        Assert.NotEmpty(failures);
        Assert.Contains("id=flood-0 ", failures[0], StringComparison.Ordinal);
        Assert.True(failures.Length <= Calls / 10, $"{failures.Length} failure lines for {Calls} refused requests");
    }

    /// <summary>A loopback port nothing listens on (bound, never listened, released).</summary>
    internal static int RefusingPort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }
}
