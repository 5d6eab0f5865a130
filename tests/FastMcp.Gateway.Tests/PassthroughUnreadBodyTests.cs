using System.Globalization;
using System.Text;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Mcp;

namespace FastMcp.Gateway.Tests;

/// <summary>
/// Pass-through relays a Content-Length answer of up to 64 KiB from the upstream connection's receive buffer instead of
/// copying it into the relay's buffer first (issue #14). These pin what must not change with that: the client gets the
/// upstream's body byte for byte under the same Content-Length, whether the body came with the head, after it in pieces,
/// or is larger than what takes that path; the upstream connection is reused after an answer read whole, closed after one
/// followed by bytes nobody asked for, and a body cut short is a 502 with the next request answered.
/// </summary>
public sealed class PassthroughUnreadBodyTests
{
    private static GatewayUnderTest Start(ScriptedUpstream upstream) => GatewayUnderTest.Start(upstream.Url, o => o.Passthrough = true);

    // A JSON answer to the request whose body is exactly `length` bytes (padding in a string member).
    private static byte[] Answer(string idJson, int length)
    {
        string prefix = "{\"jsonrpc\":\"2.0\",\"id\":" + idJson + ",\"result\":{\"pad\":\"";
        const string Suffix = "\"}}";
        var text = new StringBuilder(prefix);
        for (int i = 0; text.Length < length - Suffix.Length; i++) text.Append((char)('a' + i % 26));
        text.Append(Suffix);
        byte[] bytes = Encoding.UTF8.GetBytes(text.ToString());
        Assert.Equal(length, bytes.Length);
        return bytes;
    }

    private static readonly int[] Lengths = [100, 1_500, 65_535, 65_536, 65_537, 200_000];

    [Fact]
    public async Task Bodies_with_the_head_or_after_it_in_pieces_and_either_side_of_64_KiB_reach_the_client_byte_for_byte()
    {
        var sent = new System.Collections.Concurrent.ConcurrentQueue<byte[]>();
        int exchange = 0;
        await using var upstream = new ScriptedUpstream(async x =>
        {
            int n = Interlocked.Increment(ref exchange) - 1;
            byte[] body = Answer(x.Request.IdJson(), Lengths[n / 2 % Lengths.Length]);
            sent.Enqueue(body);
            byte[] head = Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Kept: {n}\r\nContent-Length: {body.Length}\r\n\r\n");
            if (n % 2 == 0)
            {
                await x.SendAsync([.. head, .. body]);
                return;
            }
            // The head with the body's first bytes, then the rest in two pieces.
            int first = Math.Min(10, body.Length), second = body.Length / 2;
            await x.SendAsync([.. head, .. body.AsSpan(0, first)]);
            await Task.Delay(20);
            await x.SendAsync(body[first..second]);
            await Task.Delay(20);
            await x.SendAsync(body[second..]);
        });
        await using var gateway = Start(upstream);
        using RawClient client = await gateway.ConnectAsync();

        for (int i = 0; i < Lengths.Length * 2; i++)
        {
            string id = i.ToString(CultureInfo.InvariantCulture);
            await client.SendAsync(gateway.Post(GatewayUnderTest.ToolsList(id)));
            RawResponse response = await client.ReadResponseAsync($"answer {i} ({Lengths[i / 2]} bytes)");
            Assert.Equal(200, response.Status);
            Assert.True(sent.TryDequeue(out byte[]? body));
            Assert.Equal(body, response.BodyBytes);
            Assert.Equal(body!.Length.ToString(CultureInfo.InvariantCulture), response.Header("Content-Length"));
            Assert.Equal(i.ToString(CultureInfo.InvariantCulture), response.Header("X-Kept"));
        }
        Assert.Equal(Lengths.Length * 2, upstream.Requests.Count);
        Assert.Equal(1, upstream.ConnectionsAccepted);
        Assert.Equal(1, gateway.Host.Pool.ConnectionsOpened);
    }

    [Fact]
    public async Task An_answer_followed_by_bytes_nobody_asked_for_is_relayed_and_its_connection_is_not_reused()
    {
        int exchange = 0;
        await using var upstream = new ScriptedUpstream(async x =>
        {
            byte[] body = Answer(x.Request.IdJson(), 300);
            string extra = Interlocked.Increment(ref exchange) == 1 ? "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}" : "";
            await x.SendAsync([.. Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\n\r\n"),
                .. body, .. Encoding.ASCII.GetBytes(extra)]);
        });
        await using var gateway = Start(upstream);
        using RawClient client = await gateway.ConnectAsync();

        for (int i = 1; i <= 2; i++)
        {
            await client.SendAsync(gateway.Post(GatewayUnderTest.ToolsList(i.ToString(CultureInfo.InvariantCulture))));
            RawResponse response = await client.ReadResponseAsync($"answer {i}");
            Assert.Equal(200, response.Status);
            Assert.Equal(Answer(i.ToString(CultureInfo.InvariantCulture), 300), response.BodyBytes);
        }
        // The first connection had an unasked answer behind the body: the second request went on a new one.
        Assert.Equal(2, upstream.ConnectionsAccepted);
    }

    [Fact]
    public async Task A_body_cut_short_gets_the_client_a_502_and_the_next_request_is_answered()
    {
        int exchange = 0;
        await using var upstream = new ScriptedUpstream(async x =>
        {
            if (Interlocked.Increment(ref exchange) == 1)
            {
                await x.SendAsync("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{\"jsonrpc\":\"2.0\"");
                await Task.Delay(30);
                x.Close();
                return;
            }
            await UpstreamScripts.Echo(x);
        });
        await using var gateway = Start(upstream);
        using RawClient client = await gateway.ConnectAsync();

        await client.SendAsync(gateway.Post(GatewayUnderTest.ToolsList("\"cut\"")));
        RawResponse failed = await client.ReadResponseAsync("the gateway's 502 for a body cut short");
        await client.SendAsync(gateway.Post(GatewayUnderTest.ToolsList("\"next\"")));
        RawResponse next = await client.ReadResponseAsync("the answer to the next request");

        Assert.Equal(502, failed.Status);
        Assert.Equal(JsonRpcErrorCodes.UpstreamUnavailable, failed.JsonRpcError().Code);
        Assert.Equal(200, next.Status);
        Assert.Equal("\"next\"", next.IdJson());
    }
}
