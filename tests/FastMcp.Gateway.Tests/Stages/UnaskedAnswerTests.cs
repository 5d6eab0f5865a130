using FastMcp.Gateway.Tests.Support;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// On a plain route one upstream serves many callers: an upstream that mixes up its in-flight requests puts one caller's
/// answer on another's stream. An answer (result or error) whose id is not, byte for byte, an id the client sent in that
/// POST is withheld and recorded (a JSON body: 502; a stream: the refusal with the call's id, then the end); a GET stream
/// carries no answer, except on a resumption an answer to a call of the caller's whose POST stream ended before it, once.
/// </summary>
public sealed class UnaskedAnswerTests
{
    private const string Pan = "4111111111111111";
    private const string Foreign = "{\"jsonrpc\":\"2.0\",\"id\":99,\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"alice's statement\"}]}}";

    private static bool RecordsUnasked(List<string> records) =>
        records.Exists(r => r.Contains("withheld: a JSON-RPC answer to no request", StringComparison.Ordinal) || r.Contains("UnaskedAnswer", StringComparison.Ordinal));

    [Fact]
    public async Task A_json_answer_with_another_id_is_refused_502_and_recorded()
    {
        await using CardGateway g = await CardGateway.StartAsync(upstreamScript: x => x.RespondJsonAsync(Foreign));
        RawResponse answer = await g.PostAsync(CardGateway.ToolCall("1", "statement", "{}"));

        Assert.Equal(502, answer.Status);
        Assert.DoesNotContain("alice's statement", answer.Body);
        Assert.Contains("answered a request it was not sent", answer.Body);
        Assert.Equal(-32003, answer.JsonRpcError().Code);
        Assert.True(RecordsUnasked(await g.StopAndReadAuditAsync()));
    }

    [Fact]
    public async Task A_streamed_answer_with_another_id_is_withheld_the_client_gets_the_refusal_and_the_stream_ends()
    {
        await using CardGateway g = await CardGateway.StartAsync(upstreamScript: async x =>
        {
            await x.StartEventStreamAsync();
            await x.SendEventAsync("event: message\ndata: " + Foreign + "\n\n");
            await x.SendEventAsync("event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":" + x.Request.IdJson() + ",\"result\":{\"own\":true}}\n\n");
            await x.EndChunkedAsync();
        });
        RawResponse answer = await g.PostAsync(CardGateway.ToolCall("1", "statement", "{}"));

        Assert.DoesNotContain("alice's statement", answer.Body);
        Assert.DoesNotContain("\"own\"", answer.Body); // a second answer to one call: the stream ended at the refusal
        Assert.Contains("\"id\":1,\"error\"", answer.Body);
        Assert.Contains("answered a request it was not sent", answer.Body);
        Assert.True(RecordsUnasked(await g.StopAndReadAuditAsync()));
    }

    [Fact]
    public async Task A_batch_answer_is_checked_member_by_member_and_its_own_card_like_ids_are_left_as_sent()
    {
        await using CardGateway g = await CardGateway.StartAsync(upstreamScript: x => x.RespondJsonAsync(x.Request.Body.Contains("\"mixed\"", StringComparison.Ordinal)
            ? "[{\"jsonrpc\":\"2.0\",\"id\":" + Pan + ",\"result\":{}}," + Foreign + "]"
            : "[{\"jsonrpc\":\"2.0\",\"id\":" + Pan + ",\"result\":{\"n\":" + Pan + "}},{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{}}]"));

        RawResponse own = await g.PostAsync("[" + CardGateway.ToolCall(Pan, "a", "{}") + "," + CardGateway.ToolCall("2", "b", "{}") + "]");
        Assert.Equal(200, own.Status);
        Assert.StartsWith("[{\"jsonrpc\":\"2.0\",\"id\":" + Pan + ",", own.Body); // the client's own id, as it sent it
        Assert.Contains("\"n\":4111110000001111", own.Body); // the rest is masked
        Assert.Contains("\"id\":2,", own.Body);

        RawResponse mixed = await g.PostAsync("[" + CardGateway.ToolCall(Pan, "mixed", "{}") + "," + CardGateway.ToolCall("2", "b", "{}") + "]");
        Assert.Equal(502, mixed.Status);
        Assert.DoesNotContain("alice's statement", mixed.Body);
        Assert.True(RecordsUnasked(await g.StopAndReadAuditAsync()));
    }

    [Fact]
    public async Task An_upstream_refusal_with_id_null_still_reaches_the_client_with_its_status()
    {
        await using CardGateway g = await CardGateway.StartAsync(upstreamScript: x =>
            x.RespondAsync(404, "application/json", "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32001,\"message\":\"Session not found\"},\"id\":null}"));
        RawResponse answer = await g.PostAsync(CardGateway.ToolCall("1", "a", "{}"));
        Assert.Equal(404, answer.Status);
        Assert.Contains("Session not found", answer.Body);
    }

    /// <summary>
    /// POSTs a call whose stream the upstream ends after an event id (no answer); a GET replays <paramref name="replayed"/>
    /// (with Last-Event-ID e9: an answer to id 99, which no call of the caller's had).
    /// </summary>
    private static Func<UpstreamExchange, Task> ResumableUpstream(string replayed) => async x =>
    {
        await x.StartEventStreamAsync();
        if (x.Request.Method == "GET")
        {
            string data = x.Request.Header("Last-Event-ID") == "e9" ? Foreign : replayed;
            await x.SendEventAsync("event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{\"level\":\"info\",\"data\":\"before\"}}\n\n");
            await x.SendEventAsync("id: e2\nevent: message\ndata: " + data + "\n\n");
            await x.SendEventAsync("event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{\"level\":\"info\",\"data\":\"after\"}}\n\n");
            await x.EndChunkedAsync();
            return;
        }
        // The priming event (SEP-1699): an id, no data; then the stream ends before the answer.
        await x.SendEventAsync("id: e1\ndata: \n\n");
        await x.EndChunkedAsync();
    };

    private static async Task<RawResponse> GetAsync(CardGateway g, string extraHeaders = "")
    {
        using RawClient client = await g.Gateway.ConnectAsync();
        await client.SendAsync($"GET /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {g.Token}\r\nAccept: text/event-stream\r\n{extraHeaders}\r\n");
        return await client.ReadResponseAsync();
    }

    [Fact]
    public async Task An_answer_on_a_get_stream_that_resumes_nothing_is_withheld_and_the_stream_ends()
    {
        await using CardGateway g = await CardGateway.StartAsync(upstreamScript: ResumableUpstream(Foreign));
        RawResponse stream = await GetAsync(g);

        Assert.Equal(200, stream.Status);
        Assert.Contains("before", stream.Body);
        Assert.DoesNotContain("alice's statement", stream.Body);
        Assert.DoesNotContain("after", stream.Body);
        Assert.True(RecordsUnasked(await g.StopAndReadAuditAsync()));
    }

    [Fact]
    public async Task A_resumed_get_stream_carries_the_answer_to_the_callers_unanswered_call_once_and_no_other()
    {
        await using CardGateway g = await CardGateway.StartAsync(upstreamScript: ResumableUpstream("{\"jsonrpc\":\"2.0\",\"id\":5,\"result\":{\"resumed\":true}}"));
        RawResponse post = await g.PostAsync(CardGateway.ToolCall("5", "slow", "{}"));
        Assert.Contains("id: e1", post.Body);

        RawResponse resumed = await GetAsync(g, "Last-Event-ID: e1\r\n");
        Assert.Contains("\"id\":5,\"result\":{\"resumed\":true}", resumed.Body);
        Assert.Contains("after", resumed.Body);

        // The call had its answer: replayed again it is one answer too many.
        RawResponse again = await GetAsync(g, "Last-Event-ID: e1\r\n");
        Assert.DoesNotContain("\"resumed\"", again.Body);
        Assert.DoesNotContain("after", again.Body);

        // A resumption replaying an answer to a call the caller never had ended unanswered: withheld.
        RawResponse foreign = await GetAsync(g, "Last-Event-ID: e9\r\n");
        Assert.DoesNotContain("alice's statement", foreign.Body);
        Assert.Contains("before", foreign.Body);
        Assert.True(RecordsUnasked(await g.StopAndReadAuditAsync()));
    }
}
