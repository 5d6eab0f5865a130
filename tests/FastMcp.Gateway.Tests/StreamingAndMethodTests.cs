using FastMcp.Gateway.Tests.Support;

namespace FastMcp.Gateway.Tests;

/// <summary>Server-sent event relay without buffering, and the other methods of the streamable HTTP transport.</summary>
public sealed class StreamingAndMethodTests
{
    private const string Event1 = "event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{\"progress\":1}}\n\n";
    private const string Event2 = "event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"content\":[]}}\n\n";

    [Fact]
    public async Task Sse_events_reach_the_client_one_by_one_while_the_upstream_is_still_streaming()
    {
        var clientHasEvent1 = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var upstream = new ScriptedUpstream(async x =>
        {
            await x.StartEventStreamAsync();
            await x.SendEventAsync(Event1);
            // Event 2 only once the client holds event 1: a buffering relay would deadlock here and time out.
            await clientHasEvent1.Task.WaitAsync(TimeSpan.FromSeconds(10), x.Stopping);
            await x.SendEventAsync(Event2);
            await x.EndChunkedAsync();
        });
        await using var gateway = GatewayUnderTest.Start(upstream.Url);
        using RawClient client = await gateway.ConnectAsync();

        await client.SendAsync(gateway.Post("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"slow","arguments":{}}}"""));
        (WireHead head, int status) = await client.ReadHeadAsync("the event-stream head");
        Assert.Equal(200, status);
        Assert.StartsWith("text/event-stream", head.Get("Content-Type"), StringComparison.Ordinal);
        Assert.Equal("no", head.Get("X-Accel-Buffering"));
        Assert.Equal("chunked", head.Get("Transfer-Encoding"));

        string received = "";
        while (!received.Contains("\"progress\":1", StringComparison.Ordinal))
        {
            received += await client.ReadChunkAsync("event 1 while the upstream holds event 2 back")
                ?? throw new Xunit.Sdk.XunitException($"stream ended before event 1; got '{received}'");
        }
        Assert.DoesNotContain("\"result\"", received, StringComparison.Ordinal);
        clientHasEvent1.SetResult();

        string? chunk;
        while ((chunk = await client.ReadChunkAsync("event 2 and the end of the stream")) is not null) received += chunk;
        Assert.Equal(Event1 + Event2, received);
        Assert.Empty(upstream.Faults);
    }

    [Fact]
    public async Task An_event_stream_head_reaches_the_client_before_any_event_exists()
    {
        var clientHasHead = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var upstream = new ScriptedUpstream(async x =>
        {
            await x.StartEventStreamAsync();
            // No event until the client holds the head: a relay that waited for the first event would time out here.
            await clientHasHead.Task.WaitAsync(TimeSpan.FromSeconds(10), x.Stopping);
            await x.SendEventAsync(Event2);
            await x.EndChunkedAsync();
        });
        await using var gateway = GatewayUnderTest.Start(upstream.Url);
        using RawClient client = await gateway.ConnectAsync();

        await client.SendAsync(gateway.Post("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"slow","arguments":{}}}"""));
        (WireHead head, int status) = await client.ReadHeadAsync("the head of a stream with no event yet");
        Assert.Equal(200, status);
        Assert.StartsWith("text/event-stream", head.Get("Content-Type"), StringComparison.Ordinal);
        clientHasHead.SetResult();

        string received = "";
        string? chunk;
        while ((chunk = await client.ReadChunkAsync("the event and the end of the stream")) is not null) received += chunk;
        Assert.Equal(Event2, received);
    }

    [Fact]
    public async Task An_event_that_came_with_its_head_leaves_with_it_in_one_send()
    {
        var clientReceived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var upstream = new ScriptedUpstream(async x =>
        {
            // Head and first event in one write, as a quick upstream sends them.
            int length = System.Text.Encoding.UTF8.GetByteCount(Event1);
            await x.SendAsync($"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n{length:x}\r\n{Event1}\r\n");
            await clientReceived.Task.WaitAsync(TimeSpan.FromSeconds(10), x.Stopping);
            await x.SendEventAsync(Event2);
            await x.EndChunkedAsync();
        });
        await using var gateway = GatewayUnderTest.Start(upstream.Url);
        using RawClient client = await gateway.ConnectAsync();

        Task<string> first = client.ReceiveOnceAsync(); // waiting before the gateway sends anything
        await client.SendAsync(gateway.Post("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"quick","arguments":{}}}"""));
        string received = await first;
        clientReceived.SetResult();

        // A head sent on its own would wake this receive with the head alone (a system call more per response).
        Assert.Contains("text/event-stream", received, StringComparison.Ordinal);
        Assert.Contains("\"progress\":1", received, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Get_event_stream_is_forwarded_without_a_body()
    {
        await using var upstream = new ScriptedUpstream(async x =>
        {
            await x.StartEventStreamAsync();
            await x.SendEventAsync("id: 8\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/tools/list_changed\"}\n\n");
            await x.EndChunkedAsync();
        });
        await using var gateway = GatewayUnderTest.Start(upstream.Url);
        using RawClient client = await gateway.ConnectAsync();

        await client.SendAsync($"GET /mcp HTTP/1.1\r\nHost: {gateway.Authority}\r\nAccept: text/event-stream\r\nMcp-Session-Id: sess-9\r\nLast-Event-ID: 7\r\n\r\n");
        RawResponse response = await client.ReadResponseAsync();

        Assert.Equal(200, response.Status);
        Assert.Contains("notifications/tools/list_changed", response.Body, StringComparison.Ordinal);
        UpstreamRequest seen = upstream.SingleRequest();
        Assert.Equal("GET", seen.Method);
        Assert.False(seen.Head.Has("Content-Length"));
        Assert.False(seen.Head.Has("Transfer-Encoding"));
        Assert.Equal("sess-9", seen.Header("Mcp-Session-Id"));
        Assert.Equal("7", seen.Header("Last-Event-ID"));
    }

    [Fact]
    public async Task Delete_is_forwarded_and_its_answer_relayed()
    {
        await using var upstream = new ScriptedUpstream(x => x.RespondAsync(200, "", ""));
        await using var gateway = GatewayUnderTest.Start(upstream.Url);
        using RawClient client = await gateway.ConnectAsync();

        await client.SendAsync($"DELETE /mcp HTTP/1.1\r\nHost: {gateway.Authority}\r\nMcp-Session-Id: sess-del\r\n\r\n");
        RawResponse response = await client.ReadResponseAsync();

        Assert.Equal(200, response.Status);
        Assert.Empty(response.BodyBytes);
        UpstreamRequest seen = upstream.SingleRequest();
        Assert.Equal("DELETE", seen.Method);
        Assert.Equal("sess-del", seen.Header("Mcp-Session-Id"));
    }

    [Fact]
    public async Task Notification_post_gets_the_upstreams_202()
    {
        await using var upstream = new ScriptedUpstream(x => x.RespondAsync(202, "", ""));
        await using var gateway = GatewayUnderTest.Start(upstream.Url);
        using RawClient client = await gateway.ConnectAsync();

        await client.SendAsync(gateway.Post("""{"jsonrpc":"2.0","method":"notifications/initialized"}"""));
        RawResponse response = await client.ReadResponseAsync();

        Assert.Equal(202, response.Status);
        Assert.Empty(response.BodyBytes);
        Assert.Equal("""{"jsonrpc":"2.0","method":"notifications/initialized"}""", upstream.SingleRequest().Body);
    }
}
