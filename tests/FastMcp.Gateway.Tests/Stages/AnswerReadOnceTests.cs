using System.Buffers;
using System.Text;
using System.Text.Json;
using FastMcp.Gateway.Buffers;
using FastMcp.Gateway.Proxy;
using FastMcp.Gateway.Stages;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Http;
using FastMcp.Pan;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// A JSON answer body is read once (McpResponseInspector) by the checks before the stages, and that reading stands for the
/// body's audit record only while the body is byte for byte what was read: masking that wrote anything into it, or a stage
/// that replaced it, means the record checks the bytes itself, as before.
/// </summary>
public sealed class AnswerReadOnceTests
{
    private static readonly PanMasking Masking = new(new PanMasker(new PanMaskingOptions { ComputeFingerprints = false }), RequestCardMode.Mask);

    private static (bool MaskedInPlace, string Bytes) Mask(string json)
    {
        var exchange = new Exchange(new HttpRequestHead(new HttpLimits())) { ResponseMaskedInPlace = false };
        using var message = new PooledBufferWriter(256);
        using var buffers = new TransformBuffers();
        message.Write(Encoding.UTF8.GetBytes(json));
        Assert.True(Masking.Apply(exchange, message, isEvent: false, buffers));
        return (exchange.ResponseMaskedInPlace, Encoding.UTF8.GetString(message.WrittenSpan));
    }

    [Fact]
    public void Masking_says_it_wrote_into_an_answer_whenever_it_masked_something_in_it_and_only_then()
    {
        const string Plain = "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"order 12345 shipped\"}]}}";
        Assert.Equal((false, Plain), Mask(Plain));

        (bool inText, string text) = Mask("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"card 4111111111111111\"}]}}");
        Assert.True(inText);
        Assert.DoesNotContain("4111111111111111", text);

        string payload = Convert.ToBase64String(Encoding.UTF8.GetBytes("card 4111111111111111"));
        (bool inPayload, string blob) = Mask("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"contents\":[{\"uri\":\"file:///a\",\"blob\":\"" + payload + "\"}]}}");
        Assert.True(inPayload);
        Assert.DoesNotContain(payload, blob);

        (bool inMember, string member) = Mask("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"cvv\":\"123\"}}");
        Assert.True(inMember);
        Assert.DoesNotContain("\"123\"", member);

        // A card number written as a JSON number is found and left as it is when it is the client's own id, yet said too.
        Assert.True(Mask("{\"jsonrpc\":\"2.0\",\"id\":4111111111111111,\"result\":{}}").MaskedInPlace);
    }

    [Fact]
    public void A_buffer_says_when_its_bytes_were_dropped_but_not_when_they_were_added_to_or_written_in_place()
    {
        using var buffer = new PooledBufferWriter(16);
        buffer.Write("{\"a\":1}"u8);
        int read = buffer.Generation;
        buffer.WrittenSpan[5] = (byte)'2';
        buffer.Write(" "u8);
        Assert.Equal(read, buffer.Generation);
        buffer.Clear();
        Assert.NotEqual(read, buffer.Generation);
        read = buffer.Generation;
        buffer.Write("abc"u8);
        buffer.RemoveFront(1);
        Assert.NotEqual(read, buffer.Generation);
        read = buffer.Generation;
        buffer.Release();
        Assert.NotEqual(read, buffer.Generation);
    }

    [Fact]
    public async Task Each_json_answer_is_recorded_as_the_client_got_it_whether_masking_changed_it_or_not()
    {
        string payload = Convert.ToBase64String(Encoding.UTF8.GetBytes("card 4111111111111111"));
        await using CardGateway g = await CardGateway.StartAsync(upstreamScript: async x =>
        {
            string id = x.Request.IdJson();
            string result = x.Request.Body.Contains("\"plain\"", StringComparison.Ordinal) ? "{\"content\":[{\"type\":\"text\",\"text\":\"order 12345 shipped\"}]}"
                : x.Request.Body.Contains("\"text\"", StringComparison.Ordinal) ? "{\"content\":[{\"type\":\"text\",\"text\":\"card 4111111111111111\"}]}"
                : "{\"contents\":[{\"uri\":\"file:///a\",\"blob\":\"" + payload + "\"}]}";
            await x.RespondJsonAsync("{\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"result\":" + result + "}");
        });
        using RawClient client = await g.Gateway.ConnectAsync();
        var bodies = new List<string>();
        foreach ((string id, string tool) in new[] { ("1", "plain"), ("2", "text"), ("3", "blob") })
        {
            await client.SendAsync(g.Gateway.Post(CardGateway.ToolCall(id, tool, "{}"), $"Authorization: Bearer {g.Token}\r\n"));
            RawResponse answer = await client.ReadResponseAsync();
            Assert.Equal(200, answer.Status);
            bodies.Add(answer.Body);
        }
        Assert.Contains("order 12345 shipped", bodies[0]);
        Assert.DoesNotContain("4111111111111111", bodies[1]);
        Assert.DoesNotContain(payload, bodies[2]);

        List<JsonElement> records = [.. (await g.StopAndReadAuditAsync()).Select(r => JsonDocument.Parse(r).RootElement.Clone())];
        for (int i = 0; i < bodies.Count; i++)
        {
            string id = (i + 1).ToString(System.Globalization.CultureInfo.InvariantCulture);
            JsonElement response = Assert.Single(records, r => r.TryGetProperty("jsonrpcId", out var j) && j.GetRawText() == id && r.TryGetProperty("response", out _));
            Assert.False(response.TryGetProperty("responseNotJsonBase64", out _));
            Assert.Equal(bodies[i], response.GetProperty("response").GetRawText());
        }
    }
}
