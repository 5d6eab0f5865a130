using FastMcp.Gateway.Tests.Support;

namespace FastMcp.Gateway.Tests;

/// <summary>
/// Bytes an upstream sends after a complete response (RFC 9112 §6.3: never processed, cached or forwarded as a
/// response of their own). A pooled connection holding such bytes would hand them to the next exchange, possibly
/// another client's, as its answer: the connection must be closed, never reused.
/// </summary>
[Collection(LogOutputCollection.Name)]
public sealed class UpstreamTrailingBytesTests
{
    // A well-formed answer that must never reach any client: it was not asked for.
    private const string InjectedJson = "{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{\"injected\":true}}";
    private static readonly string Injected =
        $"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {InjectedJson.Length}\r\n\r\n{InjectedJson}";

    public enum FirstAnswer { ContentLength, Chunked, EventStream, NoBody }

    [Theory]
    [InlineData(FirstAnswer.ContentLength)]
    [InlineData(FirstAnswer.Chunked)]
    [InlineData(FirstAnswer.EventStream)]
    [InlineData(FirstAnswer.NoBody)]
    public async Task A_response_injected_behind_a_complete_one_never_answers_a_later_request(FirstAnswer shape)
    {
        await using var upstream = new ScriptedUpstream(x =>
            x.Request.ConnectionNumber == 1 && x.Request.IdJson() == "1" ? x.SendAsync(FirstWithInjected(shape, x.Request)) : UpstreamScripts.Echo(x));
        await using var gateway = GatewayUnderTest.Start(upstream.Url);
        using RawClient first = await gateway.ConnectAsync();
        using RawClient other = await gateway.ConnectAsync();

        await first.SendAsync(gateway.Post(GatewayUnderTest.ToolsList("1")));
        RawResponse answer1 = await first.ReadResponseAsync("the answer to the first request");
        // Another client next (on whichever socket loop it landed), then the first client again: its loop is the one
        // the first exchange's upstream connection went back to.
        await other.SendAsync(gateway.Post(GatewayUnderTest.ToolsList("2")));
        RawResponse answer2 = await other.ReadResponseAsync("the answer to the other client's request");
        await first.SendAsync(gateway.Post(GatewayUnderTest.ToolsList("3")));
        RawResponse answer3 = await first.ReadResponseAsync("the answer to the first client's second request");

        Assert.Equal(shape == FirstAnswer.NoBody ? 202 : 200, answer1.Status);
        Assert.Equal(200, answer2.Status);
        Assert.DoesNotContain("injected", answer2.Body);
        Assert.Equal("2", answer2.IdJson());
        Assert.Equal(200, answer3.Status);
        Assert.DoesNotContain("injected", answer3.Body);
        Assert.Equal("3", answer3.IdJson());
        // The connection that carried the extra bytes carried no further request.
        Assert.Single(upstream.Requests, r => r.ConnectionNumber == 1);
    }

    private sealed class Lines : StringWriter
    {
        public string Text { get { lock (this) return ToString(); } }
    }

    [Theory]
    [InlineData(FirstAnswer.ContentLength)]
    [InlineData(FirstAnswer.EventStream)]
    public async Task The_log_says_the_upstream_sent_bytes_nobody_asked_for(FirstAnswer shape)
    {
        var lines = new Lines();
        TextWriter previous = Hosting.Log.Output;
        Hosting.Log.Output = lines;
        try
        {
            await using var upstream = new ScriptedUpstream(x =>
                x.Request.ConnectionNumber == 1 && x.Request.IdJson() == "1" ? x.SendAsync(FirstWithInjected(shape, x.Request)) : UpstreamScripts.Echo(x));
            await using var gateway = GatewayUnderTest.Start(upstream.Url);
            using RawClient client = await gateway.ConnectAsync();
            await client.SendAsync(gateway.Post(GatewayUnderTest.ToolsList("1")));
            await client.ReadResponseAsync("the answer to the first request");
            await client.SendAsync(gateway.Post(GatewayUnderTest.ToolsList("2")));
            Assert.Equal("2", (await client.ReadResponseAsync("the answer to the second request")).IdJson());
            string line = Array.Find(lines.Text.Split('\n'), l => l.Contains("no request asked for", StringComparison.Ordinal))
                ?? throw new Xunit.Sdk.XunitException("no log line about the stray bytes:\n" + lines.Text);
            Assert.Contains($"upstream {upstream.Url}", line, StringComparison.Ordinal);
            Assert.Contains($"sent {Injected.Length} byte(s)", line, StringComparison.Ordinal);
        }
        finally
        {
            Hosting.Log.Output = previous;
        }
    }

    private static string FirstWithInjected(FirstAnswer shape, UpstreamRequest request)
    {
        string json = UpstreamScripts.EchoJson(request);
        int length = System.Text.Encoding.UTF8.GetByteCount(json);
        string sse = $"data: {json}\n\n";
        int sseLength = System.Text.Encoding.UTF8.GetByteCount(sse);
        // Each in one send, the injected answer right behind the end of the first.
        return shape switch
        {
            FirstAnswer.ContentLength => $"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n\r\n{json}{Injected}",
            FirstAnswer.Chunked => $"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n{length:x}\r\n{json}\r\n0\r\n\r\n{Injected}",
            FirstAnswer.EventStream => $"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n{sseLength:x}\r\n{sse}\r\n0\r\n\r\n{Injected}",
            _ => $"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n{Injected}",
        };
    }
}
