using System.Net;
using System.Net.Sockets;
using FastMcp.Gateway.Hosting;
using FastMcp.Gateway.Tests.Support;

namespace FastMcp.Gateway.Tests;

/// <summary>A failed upstream exchange is logged naming the upstream and the request, not only the error kind.</summary>
[Collection(LogOutputCollection.Name)]
public sealed class UpstreamFailureLogTests
{
    private sealed class Lines : StringWriter
    {
        public string Text { get { lock (this) return ToString(); } }
    }

    [Fact]
    public async Task The_log_line_names_the_upstream_the_method_the_id_and_the_client()
    {
        int port;
        using (var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            port = ((IPEndPoint)socket.LocalEndPoint!).Port;
        }
        var lines = new Lines();
        TextWriter previous = Log.Output;
        Log.Output = lines;
        try
        {
            string upstream = $"http://127.0.0.1:{port}/mcp";
            await using var gateway = GatewayUnderTest.Start(upstream);
            using RawClient client = await gateway.ConnectAsync();
            await client.SendAsync(gateway.Post(GatewayUnderTest.ToolsList("\"fail-log-1\"")));
            Assert.Equal(502, (await client.ReadResponseAsync()).Status);
            string line = Array.Find(lines.Text.Split('\n'), l => l.Contains("fail-log-1", StringComparison.Ordinal))
                ?? throw new Xunit.Sdk.XunitException("no log line names the request:\n" + lines.Text);
            Assert.Contains($"upstream {upstream} failed: UpstreamUnreachable", line, StringComparison.Ordinal);
            Assert.Contains("request POST /mcp method=tools/list id=fail-log-1 client=127.0.0.1", line, StringComparison.Ordinal);

            // A numeric id is named as it was sent (it read "(long value)" before), and a card-like one is masked.
            await client.SendAsync(gateway.Post(GatewayUnderTest.ToolsList("987654")));
            Assert.Equal(502, (await client.ReadResponseAsync()).Status);
            Assert.Contains(lines.Text.Split('\n'), l => l.Contains("method=tools/list id=987654 client=", StringComparison.Ordinal));
            await client.SendAsync(gateway.Post(GatewayUnderTest.ToolsList("4111111111111111")));
            Assert.Equal(502, (await client.ReadResponseAsync()).Status);
            Assert.DoesNotContain("4111111111111111", lines.Text, StringComparison.Ordinal);
        }
        finally
        {
            Log.Output = previous;
        }
    }
}
