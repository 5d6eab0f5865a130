using System.IO.Compression;
using System.Text;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// Compressed answers through the real gateway: the upstream is asked for identity only, and a body
/// it compresses anyway is refused, never relayed past masking, filtering and the audit unread.
/// </summary>
public sealed class ResponseEncodingTests : IAsyncLifetime
{
    private const string Card = "4111 1111 1111 1111";
    private PolicyGateway _gw = null!;
    private string _alice = "";
    private Func<UpstreamExchange, Task> _script = UpstreamScripts.Echo;

    public async Task InitializeAsync()
    {
        _gw = await PolicyGateway.StartAsync(x => _script(x),
        [
            new RuleOptions { Name = "protocol", Action = "allow", Methods = ["tools/list"] },
            new RuleOptions { Name = "lookups", Action = "allow", Methods = ["tools/call"], Names = ["lookup"] },
        ]);
        _alice = _gw.Token("alice", "dev");
    }

    public async Task DisposeAsync() => await _gw.DisposeAsync();

    private const string Lookup = """{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"lookup","arguments":{}}}""";

    private static string CardResult(string idJson) =>
        "{\"jsonrpc\":\"2.0\",\"id\":" + idJson + ",\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"card " + Card + "\"}]}}";

    private static byte[] Gzip(string text)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest)) gzip.Write(Encoding.UTF8.GetBytes(text));
        return output.ToArray();
    }

    /// <summary>An upstream that compresses whatever the request says.</summary>
    private static Func<UpstreamExchange, Task> Compressing(string codingHeader, string contentType = "application/json") => async x =>
    {
        byte[] body = Gzip(contentType == "text/event-stream" ? "event: message\ndata: " + CardResult("5") + "\n\n" : CardResult("5"));
        await x.SendAsync($"HTTP/1.1 200 OK\r\nContent-Type: {contentType}\r\n{codingHeader}\r\nContent-Length: {body.Length}\r\n\r\n");
        await x.SendAsync(body);
    };

    [Fact]
    public async Task The_clients_accept_encoding_is_not_forwarded_and_the_upstream_is_asked_for_identity()
    {
        RawResponse response = await _gw.PostAsync(Lookup, _alice, "Accept-Encoding: gzip, deflate, br\r\n");

        Assert.Equal(200, response.Status);
        UpstreamRequest seen = _gw.Upstream.SingleRequest();
        Assert.Equal(["identity"], seen.Head.GetAll("Accept-Encoding"));
    }

    [Theory]
    [InlineData("Content-Encoding: gzip")]
    [InlineData("Content-Encoding: GZIP")]
    [InlineData("Content-Encoding: identity, gzip")]
    [InlineData("Content-Encoding: identity\r\nContent-Encoding: gzip")]
    [InlineData("Content-Encoding: br")]
    public async Task A_compressed_json_answer_is_refused_with_502_and_never_relayed(string codingHeader)
    {
        _script = Compressing(codingHeader);
        RawResponse response = await _gw.PostAsync(Lookup, _alice, "Accept-Encoding: gzip\r\n");

        Assert.Equal(502, response.Status);
        Assert.Null(response.Header("Content-Encoding"));
        (int code, string id) = response.JsonRpcError();
        Assert.Equal(-32003, code);
        Assert.Equal("5", id);
        Assert.Contains("compressed", response.Body);
    }

    [Fact]
    public async Task A_compressed_event_stream_is_refused_with_502()
    {
        _script = Compressing("Content-Encoding: gzip", "text/event-stream");
        RawResponse response = await _gw.PostAsync(Lookup, _alice, "Accept-Encoding: gzip\r\n");

        Assert.Equal(502, response.Status);
        Assert.Equal(-32003, response.JsonRpcError().Code);
    }

    [Fact]
    public async Task A_transfer_coding_other_than_chunked_is_refused()
    {
        _script = async x =>
        {
            byte[] body = Gzip(CardResult("5"));
            await x.SendAsync($"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: gzip, chunked\r\n\r\n{body.Length:x}\r\n");
            await x.SendAsync(body);
            await x.SendAsync("\r\n0\r\n\r\n");
        };
        RawResponse response = await _gw.PostAsync(Lookup, _alice);

        Assert.Equal(502, response.Status);
        Assert.Equal(-32003, response.JsonRpcError().Code);
    }

    [Fact]
    public async Task Content_encoding_identity_is_relayed_and_masked()
    {
        _script = x => x.RespondJsonAsync(CardResult("5"), "Content-Encoding: identity\r\n");
        RawResponse response = await _gw.PostAsync(Lookup, _alice);

        Assert.Equal(200, response.Status);
        Assert.DoesNotContain(Card, response.Body);
        Assert.Contains("4111 11** **** 1111", response.Body);
    }

    [Fact]
    public async Task After_a_refused_compressed_answer_the_next_call_works_and_the_audit_holds_no_compressed_payload()
    {
        _script = Compressing("Content-Encoding: gzip");
        Assert.Equal(502, (await _gw.PostAsync(Lookup, _alice, "Accept-Encoding: gzip\r\n")).Status);
        _script = x => x.RespondJsonAsync(CardResult("5"));
        RawResponse second = await _gw.PostAsync(Lookup, _alice);
        Assert.Equal(200, second.Status);
        Assert.DoesNotContain(Card, second.Body);

        string[] timeline = await _gw.StopAndReadAuditAsync();
        Assert.DoesNotContain(timeline, line => line.Contains("responseNotJsonBase64", StringComparison.Ordinal));
        Assert.DoesNotContain(timeline, line => line.Contains(Card, StringComparison.Ordinal));
    }
}
