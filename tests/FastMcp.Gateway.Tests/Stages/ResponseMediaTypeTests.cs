using System.Text;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Mcp;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// Bodies whose media type has an encoding of its own, which a client decodes and the stages do not: HTML and XML
/// character references (<c>&amp;#52;</c> is a 4), percent-encoding, a multipart part in base64, opaque bytes. The
/// masker reads none of these, so such a body is withheld whatever its status (an error status reaches the client with
/// the gateway's error as its body); the types the stages read as the client does (JSON, plain text, none stated) are
/// relayed masked.
/// </summary>
public sealed class ResponseMediaTypeTests
{
    private const string Pan = "4111111111111111";
    private static readonly string Json = "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"card\":\"" + Pan + "\"}}";

    private static string CharacterReferences(string digits) => string.Concat(digits.Select(d => $"&#{(int)d};"));

    public static TheoryData<int, string, string> Encoded() => new()
    {
        { 200, "text/html", "<p>card " + CharacterReferences(Pan) + "</p>" },
        { 500, "text/html; charset=utf-8", "<h1>Error</h1><p>card " + CharacterReferences(Pan) + "</p>" },
        { 404, "application/xml", "<card>" + CharacterReferences(Pan) + "</card>" },
        { 200, "application/x-www-form-urlencoded", "card=" + string.Concat(Pan.Select(d => $"%{(int)d:X2}")) },
        { 200, "multipart/mixed; boundary=b", "--b\r\nContent-Type: application/json\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            + Convert.ToBase64String(Encoding.UTF8.GetBytes(Json)) + "\r\n--b--\r\n" },
        { 200, "application/octet-stream", "%PDF-1.7\n1 0 obj << /Card (" + Pan + ") >> endobj" },
    };

    [Theory]
    [MemberData(nameof(Encoded))]
    public async Task A_body_of_a_media_type_the_stages_cannot_read_is_withheld(int status, string contentType, string body)
    {
        await using CardGateway g = await CardGateway.StartAsync(upstreamScript: x => x.RespondAsync(status, contentType, body));
        RawResponse answer = await g.PostAsync(CardGateway.ToolCall("1", "echo", "{}"));

        // An error status is kept (clients act on 404 and 405); the body is the gateway's error either way.
        Assert.Equal(status >= 400 ? status : 502, answer.Status);
        (int code, string id) = answer.JsonRpcError();
        Assert.Equal(JsonRpcErrorCodes.UpstreamUnavailable, code);
        Assert.Equal("1", id);
        Assert.Contains("media type", answer.Body, StringComparison.Ordinal);
        Assert.DoesNotContain(body[..8], answer.Body, StringComparison.Ordinal);

        List<string> records = await g.StopAndReadAuditAsync();
        Assert.Single(records, r => r.Contains("upstream failed: UnreadableMediaType", StringComparison.Ordinal));
        Assert.Empty(AuditCards.FindCardNumbers(records));
    }

    [Theory]
    [InlineData(200, "text/plain", "card " + Pan)]
    [InlineData(404, "text/plain; charset=utf-8", "no card " + Pan)]
    [InlineData(200, "", "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"card\":\"" + Pan + "\"}}")]
    [InlineData(400, "application/problem+json", "{\"title\":\"bad card " + Pan + "\"}")]
    [InlineData(200, "Application/JSON ; charset=\"UTF-8\"", "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"card\":\"" + Pan + "\"}}")]
    public async Task A_body_the_stages_read_as_the_client_does_is_relayed_masked(int status, string contentType, string body)
    {
        await using CardGateway g = await CardGateway.StartAsync(upstreamScript: x => x.RespondAsync(status, contentType, body));
        RawResponse answer = await g.PostAsync(CardGateway.ToolCall("1", "echo", "{}"));

        Assert.Equal(status, answer.Status);
        Assert.Contains("411111******1111", answer.Body, StringComparison.Ordinal);
        Assert.DoesNotContain(Pan, answer.Body, StringComparison.Ordinal);
        Assert.Empty(AuditCards.FindCardNumbers(await g.StopAndReadAuditAsync()));
    }

    [Fact]
    public async Task An_empty_body_of_any_media_type_is_relayed()
    {
        await using CardGateway g = await CardGateway.StartAsync(upstreamScript: x => x.RespondAsync(202, "text/html", ""));
        RawResponse answer = await g.PostAsync("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}");

        Assert.Equal(202, answer.Status);
        Assert.Empty(answer.BodyBytes);
    }
}
