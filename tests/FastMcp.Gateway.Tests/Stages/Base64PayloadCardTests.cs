using System.Text;
using System.Text.Json;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// MCP carries files and media as base64 in "blob" (resource contents) and "data" (image and audio content). A client
/// decodes them; the text masker sees only the base64. Through the real gateway, a card number inside such a payload
/// must reach neither the client nor the audit log, and the payload must still decode, to the same length.
/// </summary>
public sealed class Base64PayloadCardTests
{
    private const string Csv = "name,card,amount\nAda Lovelace,4111 1111 1111 1111,12.50\nAlan Turing,5555555555554444,7.00\n";
    private const string MaskedCsv = "name,card,amount\nAda Lovelace,4111 11** **** 1111,12.50\nAlan Turing,555555******4444,7.00\n";

    private static string B64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));

    private static string ReadResult(string idJson, string blobJsonString) =>
        "{\"jsonrpc\":\"2.0\",\"id\":" + idJson + ",\"result\":{\"contents\":[{\"uri\":\"file:///exports/payments.csv\",\"mimeType\":\"text/csv\",\"blob\":"
        + blobJsonString + "}]}}";

    private static string ReadCall(string id) =>
        "{\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"method\":\"resources/read\",\"params\":{\"uri\":\"file:///exports/payments.csv\"}}";

    private static string Decoded(JsonElement blob) => Encoding.UTF8.GetString(Convert.FromBase64String(blob.GetString()!));

    [Fact]
    public async Task A_card_number_in_a_resource_blob_reaches_the_client_masked_and_the_blob_still_decodes()
    {
        string blob = B64(Csv);
        await using CardGateway g = await CardGateway.StartAsync(upstreamScript: x => x.RespondJsonAsync(ReadResult(x.Request.IdJson(), "\"" + blob + "\"")));
        RawResponse answer = await g.PostAsync(ReadCall("1"));

        Assert.Equal(200, answer.Status);
        using JsonDocument doc = JsonDocument.Parse(answer.Body);
        JsonElement relayed = doc.RootElement.GetProperty("result").GetProperty("contents")[0].GetProperty("blob");
        Assert.Equal(blob.Length, relayed.GetString()!.Length);
        Assert.Equal(MaskedCsv, Decoded(relayed));

        List<string> records = await g.StopAndReadAuditAsync();
        string all = string.Join("\n", records);
        Assert.DoesNotContain(blob, all, StringComparison.Ordinal);
        Assert.Contains(B64(MaskedCsv), all, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Image_and_audio_data_and_an_embedded_resource_in_a_tool_answer_are_masked_in_any_member_name_case()
    {
        string text = "receipt for card 4111111111111111 approved";
        string masked = "receipt for card 411111******1111 approved";
        string result = "{\"content\":[{\"type\":\"image\",\"mimeType\":\"image/png\",\"data\":\"" + B64(text) + "\"},"
            + "{\"type\":\"audio\",\"mimeType\":\"audio/wav\",\"DATA\":\"" + B64(text + ".") + "\"},"
            + "{\"type\":\"resource\",\"resource\":{\"uri\":\"file:///r.txt\",\"mimeType\":\"text/plain\",\"Blob\":\"" + B64(text + "..") + "\"}}]}";
        await using CardGateway g = await CardGateway.StartAsync(upstreamScript: x =>
            x.RespondJsonAsync("{\"jsonrpc\":\"2.0\",\"id\":" + x.Request.IdJson() + ",\"result\":" + result + "}"));
        RawResponse answer = await g.PostAsync(CardGateway.ToolCall("1", "receipt", "{}"));

        Assert.Equal(200, answer.Status);
        using JsonDocument doc = JsonDocument.Parse(answer.Body);
        JsonElement content = doc.RootElement.GetProperty("result").GetProperty("content");
        Assert.Equal(masked, Decoded(content[0].GetProperty("data")));
        Assert.Equal(masked + ".", Decoded(content[1].GetProperty("DATA")));
        Assert.Equal(masked + "..", Decoded(content[2].GetProperty("resource").GetProperty("Blob")));
    }

    [Theory]
    [InlineData("stj")] // System.Text.Json's default encoder writes '+' as \u002B
    [InlineData("php")] // PHP's json_encode writes '/' as \/
    [InlineData("mime")] // MIME base64: a line break every 76 characters
    public async Task An_escaped_blob_is_masked_and_stays_valid_JSON_of_the_same_length(string style)
    {
        // 0xFB 0xFF 0xBF encodes as "+/+/": the base64 holds both characters encoders escape, around the card numbers.
        byte[] odd = [0xFB, 0xFF, 0xBF];
        byte[] bytes = [.. odd, .. Encoding.ASCII.GetBytes(" card 4111 1111 1111 1111 "), .. odd, .. odd,
            .. Encoding.ASCII.GetBytes(new string('x', 60) + " 4111111111111111 "), .. odd];
        string blob = Convert.ToBase64String(bytes);
        Assert.Contains("+", blob);
        Assert.Contains("/", blob);
        string escaped = style switch
        {
            "stj" => blob.Replace("+", "\\u002B"),
            "php" => blob.Replace("/", "\\/"),
            _ => string.Join("\\n", Enumerable.Range(0, (blob.Length + 75) / 76).Select(i => blob.Substring(i * 76, Math.Min(76, blob.Length - i * 76)))),
        };
        string upstreamJson = ReadResult("1", "\"" + escaped + "\"");
        await using CardGateway g = await CardGateway.StartAsync(upstreamScript: x => x.RespondJsonAsync(upstreamJson));
        RawResponse answer = await g.PostAsync(ReadCall("1"));

        Assert.Equal(200, answer.Status);
        Assert.Equal(Encoding.UTF8.GetByteCount(upstreamJson), Encoding.UTF8.GetByteCount(answer.Body));
        using JsonDocument doc = JsonDocument.Parse(answer.Body);
        byte[] relayedBytes = Convert.FromBase64String(doc.RootElement.GetProperty("result").GetProperty("contents")[0].GetProperty("blob").GetString()!);
        Assert.Equal(bytes.Length, relayedBytes.Length);
        string relayed = Encoding.Latin1.GetString(relayedBytes);
        Assert.DoesNotContain("4111 1111 1111 1111", relayed, StringComparison.Ordinal);
        Assert.DoesNotContain("4111111111111111", relayed, StringComparison.Ordinal);
        Assert.Contains(" card 4111 11** **** 1111 ", relayed, StringComparison.Ordinal);
        Assert.Contains(" 411111******1111 ", relayed, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_blob_on_an_event_stream_is_masked_in_single_and_multi_line_events()
    {
        string blob = B64(Csv);
        await using CardGateway g = await CardGateway.StartAsync(upstreamScript: async x =>
        {
            await x.StartEventStreamAsync();
            await x.SendEventAsync("event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{\"level\":\"info\",\"data\":\"" + blob + "\"}}\n\n");
            await x.SendEventAsync("event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":" + x.Request.IdJson() + ",\ndata: \"result\":{\"contents\":[{\"uri\":\"file:///x\",\ndata: \"blob\":\"" + blob + "\"}]}}\n\n");
            await x.EndChunkedAsync();
        });
        RawResponse answer = await g.PostAsync(ReadCall("1"));

        Assert.Equal(200, answer.Status);
        Assert.DoesNotContain(blob, answer.Body, StringComparison.Ordinal);
        Assert.Equal(2, CountOf(answer.Body, B64(MaskedCsv)));
        List<string> records = await g.StopAndReadAuditAsync();
        Assert.DoesNotContain(blob, string.Join("\n", records), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_blob_without_a_card_number_and_base64_lookalikes_pass_unchanged()
    {
        string blob = B64("name,amount\nAda,12.50\n");
        // Base64 of letters, and a "data" string that is not base64: both stay as they are.
        string json = "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"contents\":[{\"uri\":\"file:///a\",\"blob\":\"" + blob + "\"}],"
            + "\"data\":\"QUJDREVGR0hJSktMTU5PUA==\",\"note\":{\"data\":\"plain words, not base64!\"}}}";
        await using CardGateway g = await CardGateway.StartAsync(upstreamScript: x => x.RespondJsonAsync(json));
        RawResponse answer = await g.PostAsync(ReadCall("1"));

        Assert.Equal(200, answer.Status);
        Assert.Equal(json, answer.Body);
    }

    [Theory]
    [InlineData("mask")]
    [InlineData("forward")]
    public async Task A_card_number_in_a_blob_the_client_sends_is_never_recorded_and_masked_for_the_upstream_in_mask_mode(string requests)
    {
        string blob = B64(Csv);
        await using CardGateway g = await CardGateway.StartAsync(masking: m => m.Requests = requests, upstreamScript: CardGateway.EmptyResult);
        RawResponse answer = await g.PostAsync(CardGateway.ToolCall("1", "upload", "{\"file\":{\"mimeType\":\"text/csv\",\"blob\":\"" + blob + "\"}}"));

        Assert.Equal(200, answer.Status);
        string forwarded = g.Upstream.SingleRequest().Body;
        Assert.Contains(requests == "mask" ? B64(MaskedCsv) : blob, forwarded, StringComparison.Ordinal);
        List<string> records = await g.StopAndReadAuditAsync();
        string all = string.Join("\n", records);
        Assert.DoesNotContain(blob, all, StringComparison.Ordinal);
        Assert.Contains(B64(MaskedCsv), all, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Block_mode_refuses_a_request_whose_blob_holds_a_card_number()
    {
        await using CardGateway g = await CardGateway.StartAsync(masking: m => m.Requests = "block", upstreamScript: CardGateway.EmptyResult);
        RawResponse answer = await g.PostAsync(CardGateway.ToolCall("1", "upload", "{\"file\":{\"blob\":\"" + B64(Csv) + "\"}}"));

        Assert.Equal(200, answer.Status);
        Assert.Equal((-32001, "1"), answer.JsonRpcError());
        Assert.Empty(g.Upstream.Requests);
    }

    [Theory]
    [InlineData("")] // the whole arguments: payloads below are decoded
    [InlineData("/file/blob")] // the payload string itself
    public async Task A_containsCardNumber_rule_sees_a_card_number_inside_a_base64_payload(string pointer)
    {
        await using CardGateway g = await CardGateway.StartAsync(masking: m => m.Requests = "forward", upstreamScript: CardGateway.EmptyResult, rules:
        [
            new RuleOptions { Name = "no-cards", Action = "deny", Methods = ["tools/call"], Message = "arguments may not contain card numbers",
                Arguments = [new ArgumentConditionOptions { Pointer = pointer, ContainsCardNumber = true }] },
            new RuleOptions { Name = "all", Action = "allow" },
        ]);
        RawResponse denied = await g.PostAsync(CardGateway.ToolCall("1", "upload", "{\"file\":{\"mimeType\":\"text/csv\",\"blob\":\"" + B64(Csv) + "\"}}"));
        RawResponse allowed = await g.PostAsync(CardGateway.ToolCall("2", "upload", "{\"file\":{\"mimeType\":\"text/csv\",\"blob\":\"" + B64("name,amount\nAda,12.50\n") + "\"}}"));

        Assert.Equal((-32001, "1"), denied.JsonRpcError());
        Assert.Equal(200, allowed.Status);
        Assert.Contains("\"result\"", allowed.Body, StringComparison.Ordinal);
        Assert.Single(g.Upstream.Requests);
    }

    [Fact]
    public async Task A_forwarded_request_whose_payload_cannot_be_masked_in_place_is_recorded_with_that_payload_blanked()
    {
        // A masked Devanagari nine next to another digit changes a base64 character that was '/', written "\/" (two bytes)
        // where no masked character fits: in one of three alignments the record's copy cannot be masked.
        string devanagari = string.Concat("4111119999991116".Select(d => (char)('\u0966' + (d - '0'))));
        var masker = new FastMcp.Pan.PanMasker(new FastMcp.Pan.PanMaskingOptions { FingerprintKey = new byte[16] });
        string? refused = null;
        for (int shift = 0; shift < 3 && refused is null; shift++)
        {
            string escaped = B64(new string('x', shift) + " card " + devanagari + " end").Replace("/", "\\/", StringComparison.Ordinal);
            string args = "{\"file\":{\"blob\":\"" + escaped + "\"}}";
            if (FastMcp.Pan.Payloads.Base64Payloads.MaskInPlace(masker, Encoding.UTF8.GetBytes(args)) == FastMcp.Pan.Payloads.Base64Payloads.Result.Refused) refused = args;
        }
        Assert.NotNull(refused);
        await using CardGateway g = await CardGateway.StartAsync(masking: m => m.Requests = "forward", upstreamScript: CardGateway.EmptyResult);
        RawResponse answer = await g.PostAsync(CardGateway.ToolCall("1", "upload", refused));
        Assert.Equal(200, answer.Status);
        Assert.Single(g.Upstream.Requests);

        List<string> records = await g.StopAndReadAuditAsync();
        JsonElement call = Assert.Single(records.Select(r => JsonDocument.Parse(r).RootElement.Clone()),
            r => r.TryGetProperty("component", out var c) && c.TryGetProperty("target", out var t) && t.GetString() == "upload" && !r.TryGetProperty("httpStatus", out _));
        // The payload that cannot be masked is blanked in the recorded copy (docs/audit-format.md §9); the rest is kept.
        string recorded = call.GetProperty("request").GetRawText();
        string blob = refused[(refused.IndexOf("\"blob\":\"", StringComparison.Ordinal) + 8)..];
        Assert.DoesNotContain(blob[..16], recorded, StringComparison.Ordinal);
        Assert.Contains("\"blob\":\"" + new string('*', 16), recorded.Replace("\\\"", "\"", StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.False(call.TryGetProperty("requestNotJsonBase64", out _));
    }

    private static int CountOf(string text, string part)
    {
        int n = 0;
        for (int at = text.IndexOf(part, StringComparison.Ordinal); at >= 0; at = text.IndexOf(part, at + 1, StringComparison.Ordinal)) n++;
        return n;
    }
}
