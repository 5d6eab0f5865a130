using FastMcp.Gateway.Tests.Stages;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Pan;

namespace FastMcp.Gateway.Tests.RedTeam;

/// <summary>
/// A hostile upstream shapes the head of its answer: hop-by-hop fields, framing that contradicts itself, a protocol
/// switch, a body where the status allows none, a bare CR inside a field, a body that is not what its type says. The
/// client must get either a well-framed answer with no card number in it or a refusal, and its connection must stay in
/// step (a second call on it gets its own answer).
/// </summary>
public sealed class UpstreamAnswerHeadTests
{
    private const string Pan = "4111111111111111";

    private static string Answer(string idJson) => "{\"jsonrpc\":\"2.0\",\"id\":" + idJson + ",\"result\":{\"card\":\"" + Pan + "\"}}";

    public static TheoryData<string> Shapes() =>
    [
        "hop-by-hop fields", "content-length and chunked", "two content-lengths", "switching protocols", "204 with a body",
        "304 with a body", "bare CR in a field", "event-stream type, JSON body", "JSON type, event-stream body", "obs-fold continuation",
    ];

    private static Task Respond(string shape, UpstreamExchange x)
    {
        string body = Answer(x.Request.IdJson());
        int length = System.Text.Encoding.UTF8.GetByteCount(body);
        return shape switch
        {
            "hop-by-hop fields" => x.SendAsync($"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {length}\r\nConnection: keep-alive, X-Hop\r\n"
                + $"X-Hop: {Pan}\r\nKeep-Alive: timeout=5\r\nUpgrade: h2c\r\nProxy-Authenticate: Basic realm=\"{Pan}\"\r\nTE: trailers\r\n\r\n{body}"),
            "content-length and chunked" => x.SendAsync($"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
                + $"{length:x}\r\n{body}\r\n0\r\n\r\n"),
            "two content-lengths" => x.SendAsync($"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {length}\r\nContent-Length: 2\r\n\r\n{body}"),
            "switching protocols" => x.SendAsync($"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n{body}"),
            "204 with a body" => x.SendAsync($"HTTP/1.1 204 No Content\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n\r\n{body}"),
            "304 with a body" => x.SendAsync($"HTTP/1.1 304 Not Modified\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n\r\n{body}"),
            "bare CR in a field" => x.SendAsync($"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {length}\r\nX-Note: a\rX-Card: {Pan}\r\n\r\n{body}"),
            "event-stream type, JSON body" => x.SendAsync($"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: {length}\r\n\r\n{body}"),
            "JSON type, event-stream body" => x.SendAsync($"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {length + 8}\r\n\r\ndata: {body}\n\n"),
            _ => x.SendAsync($"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {length}\r\nX-Note: a\r\n {Pan}\r\n\r\n{body}"),
        };
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public async Task A_hostile_answer_head_lets_no_card_number_through_and_keeps_the_client_in_step(string shape)
    {
        int calls = 0;
        await using CardGateway g = await CardGateway.StartAsync(upstreamScript: x =>
            Interlocked.Increment(ref calls) == 1 ? Respond(shape, x) : CardGateway.EmptyResult(x));
        using RawClient client = await g.Gateway.ConnectAsync();
        await client.SendAsync(g.Gateway.Post(CardGateway.ToolCall("1", "echo", "{}"), $"Authorization: Bearer {g.Token}\r\n"));
        RawResponse first = await client.ReadResponseAsync();

        Assert.DoesNotContain(Pan, first.Head.Raw, StringComparison.Ordinal);
        Assert.False(PanMasker.ContainsCardNumber(first.BodyBytes), first.Body);
        Assert.Null(first.Header("Upgrade"));
        Assert.Null(first.Header("Proxy-Authenticate"));
        Assert.Null(first.Header("X-Hop"));
        Assert.NotEqual(101, first.Status);
        if (first.Header("Connection") is not { } connection || !connection.Contains("close", StringComparison.OrdinalIgnoreCase))
        {
            await client.SendAsync(g.Gateway.Post(CardGateway.ToolCall("2", "echo", "{}"), $"Authorization: Bearer {g.Token}\r\n"));
            RawResponse second = await client.ReadResponseAsync();
            Assert.Equal(200, second.Status);
            Assert.Equal("2", second.IdJson());
        }
        List<string> records = await g.StopAndReadAuditAsync();
        Assert.Empty(AuditCards.FindCardNumbers(records));
    }
}
