using System.Text.Json;
using FastMcp.Gateway.Tests.Support;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// Sensitive authentication data (PCI DSS 3.3.1: track data, card security codes, PINs) may not be kept even masked.
/// Through the real gateway it reaches neither the client, nor the upstream under masking.requests "mask", nor the
/// audit log: track data after a card number and the values of security code and PIN members are masked whole.
/// </summary>
public sealed class SensitiveAuthenticationDataTests
{
    private const string Track2 = ";4111111111111111=28121010000012345678?";
    private const string MaskedTrack2 = ";411111******1111=********************?";
    private const string Track1 = "%B4111111111111111^DOE/JOHN^2812101000001234000000?";
    private const string MaskedTrack1 = "%B411111******1111^********^**********************?";

    private static string ToolResult(string id, string structured) =>
        "{\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"swiped\"}],\"structuredContent\":" + structured + "}}";

    private const string Swipe = "{\"track2\":\"" + Track2 + "\",\"track1\":\"" + Track1 + "\",\"card\":\"4111 1111 1111 1111\",\"cvv\":\"123\","
        + "\"c\\u0076c2\":\"456\",\"Card_Security-Code\":789,\"pinBlock\":{\"format\":0,\"value\":\"0412AC89ABCDEF67\"}}";

    /// <summary>No record (nor answer) holds any of the swipe's sensitive values.</summary>
    private static void AssertNoSensitiveData(string text)
    {
        foreach (string secret in new[] { "28121010000012345678", "DOE/JOHN", "2812101000001234000000", "\"123\"", "\"456\"", ":789", "0412AC89ABCDEF67", "4111111111111111" })
            Assert.DoesNotContain(secret, text, StringComparison.Ordinal);
    }

    private static void AssertSwipeMasked(JsonElement swipe)
    {
        Assert.Equal(MaskedTrack2, swipe.GetProperty("track2").GetString());
        Assert.Equal(MaskedTrack1, swipe.GetProperty("track1").GetString());
        Assert.Equal("4111 11** **** 1111", swipe.GetProperty("card").GetString());
        Assert.Equal("***", swipe.GetProperty("cvv").GetString());
        Assert.Equal("***", swipe.GetProperty("cvc2").GetString());
        Assert.Equal(900, swipe.GetProperty("Card_Security-Code").GetInt32());
        Assert.Equal(0, swipe.GetProperty("pinBlock").GetProperty("format").GetInt32());
        Assert.Equal("****************", swipe.GetProperty("pinBlock").GetProperty("value").GetString());
    }

    [Fact]
    public async Task Track_data_and_security_codes_in_a_tool_result_reach_neither_the_client_nor_the_audit_log()
    {
        await using CardGateway g = await CardGateway.StartAsync(upstreamScript: x => x.RespondJsonAsync(ToolResult(x.Request.IdJson(), Swipe)));
        RawResponse answer = await g.PostAsync(CardGateway.ToolCall("1", "swipe", "{}"));

        Assert.Equal(200, answer.Status);
        AssertNoSensitiveData(answer.Body);
        using (JsonDocument doc = JsonDocument.Parse(answer.Body))
            AssertSwipeMasked(doc.RootElement.GetProperty("result").GetProperty("structuredContent"));

        List<string> records = await g.StopAndReadAuditAsync();
        string all = string.Join("\n", records);
        AssertNoSensitiveData(all);
        Assert.Contains(MaskedTrack2, all, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_security_code_and_track_on_an_event_stream_are_masked_for_the_client_and_the_record()
    {
        await using CardGateway g = await CardGateway.StartAsync(upstreamScript: async x =>
        {
            await x.StartEventStreamAsync();
            await x.SendEventAsync("event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{\"level\":\"info\",\"data\":" + Swipe + "}}\n\n");
            // The answer split over data lines: masked in its joined form.
            await x.SendEventAsync("event: message\ndata: " + ToolResult(x.Request.IdJson(), "{\"cvv\":\n".Replace("\n", "\ndata: ") + "\"321\",\"t\":\"" + Track2 + "\"}") + "\n\n");
            await x.EndChunkedAsync();
        });
        RawResponse answer = await g.PostAsync(CardGateway.ToolCall("1", "swipe", "{}"));

        Assert.Equal(200, answer.Status);
        AssertNoSensitiveData(answer.Body);
        Assert.DoesNotContain("\"321\"", answer.Body, StringComparison.Ordinal);
        Assert.Contains(MaskedTrack2, answer.Body, StringComparison.Ordinal);
        List<string> records = await g.StopAndReadAuditAsync();
        string all = string.Join("\n", records);
        AssertNoSensitiveData(all);
        Assert.DoesNotContain("\"321\"", all, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("mask")]
    [InlineData("forward")]
    public async Task A_security_code_the_client_sends_is_never_recorded_and_is_masked_for_the_upstream_in_mask_mode(string requests)
    {
        await using CardGateway g = await CardGateway.StartAsync(masking: m => m.Requests = requests, upstreamScript: CardGateway.EmptyResult);
        RawResponse answer = await g.PostAsync(CardGateway.ToolCall("1", "pay", "{\"card\":\"4111111111111111\",\"cvv\":\"123\",\"track\":\"" + Track2 + "\"}"));

        Assert.Equal(200, answer.Status);
        string forwarded = g.Upstream.SingleRequest().Body;
        if (requests == "mask")
        {
            AssertNoSensitiveData(forwarded);
            Assert.Contains("\"cvv\":\"***\"", forwarded, StringComparison.Ordinal);
            Assert.Contains(MaskedTrack2, forwarded, StringComparison.Ordinal);
        }
        else
        {
            Assert.Contains("\"cvv\":\"123\"", forwarded, StringComparison.Ordinal);
        }
        List<string> records = await g.StopAndReadAuditAsync();
        string all = string.Join("\n", records);
        AssertNoSensitiveData(all);
        Assert.Contains("\"cvv\":\"***\"", all, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Block_mode_refuses_a_request_carrying_a_security_code_with_its_own_message()
    {
        await using CardGateway g = await CardGateway.StartAsync(masking: m => m.Requests = "block", upstreamScript: CardGateway.EmptyResult);
        RawResponse refused = await g.PostAsync(CardGateway.ToolCall("1", "pay", "{\"order\":\"A-17\",\"cvv\":\"123\"}"));
        RawResponse empty = await g.PostAsync(CardGateway.ToolCall("2", "pay", "{\"order\":\"A-17\",\"cvv\":\"\"}"));

        Assert.Equal(200, refused.Status);
        Assert.Equal((-32001, "1"), refused.JsonRpcError());
        Assert.Contains("sensitive authentication data", refused.Body, StringComparison.Ordinal);
        // An empty value carries no code: forwarded.
        Assert.Equal(200, empty.Status);
        Assert.Single(g.Upstream.Requests);
        List<string> records = await g.StopAndReadAuditAsync();
        string all = string.Join("\n", records);
        Assert.DoesNotContain("\"123\"", all, StringComparison.Ordinal);
        Assert.Contains("sensitive authentication data blocked", all, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_configured_member_list_replaces_the_default_and_an_empty_list_turns_it_off()
    {
        await using CardGateway g = await CardGateway.StartAsync(masking: m => m.SensitiveMembers = ["otp"],
            upstreamScript: x => x.RespondJsonAsync(ToolResult(x.Request.IdJson(), "{\"OTP\":\"998877\",\"cvv\":\"123\"}")));
        RawResponse answer = await g.PostAsync(CardGateway.ToolCall("1", "swipe", "{}"));

        Assert.Contains("\"OTP\":\"******\"", answer.Body, StringComparison.Ordinal);
        Assert.Contains("\"cvv\":\"123\"", answer.Body, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new[] { "cvv", "" }, "masking.sensitiveMembers[1]")]
    [InlineData(new[] { "cvv", "c\u00e9v" }, "masking.sensitiveMembers[1]")]
    [InlineData(new[] { "--" }, "masking.sensitiveMembers[0]")]
    [InlineData(null, "masking.sensitiveMembers")]
    public async Task A_bad_member_list_is_refused_at_start_naming_the_field(string[]? names, string field)
    {
        var e = await Assert.ThrowsAsync<FastMcp.Gateway.Configuration.ConfigurationException>(() =>
            CardGateway.StartAsync(masking: m => m.SensitiveMembers = names is null ? null : [.. names]));
        Assert.Equal(field, e.Field);
    }

    [Fact]
    public async Task A_masking_profile_keeps_no_security_code_in_clear()
    {
        await using CardGateway g = await CardGateway.StartAsync(
            masking: m => m.Profiles["wide"] = new FastMcp.Gateway.Configuration.MaskingProfileOptions { KeepFirst = 8, Requests = "forward" },
            rules: [new FastMcp.Policy.RuleOptions { Name = "all", Action = "allow", MaskProfile = "wide" }],
            upstreamScript: x => x.RespondJsonAsync(ToolResult(x.Request.IdJson(), Swipe)));
        RawResponse answer = await g.PostAsync(CardGateway.ToolCall("1", "swipe", "{\"cvv\":\"555\"}"));

        Assert.Equal(200, answer.Status);
        AssertNoSensitiveData(answer.Body);
        Assert.Contains("\"cvv\":\"***\"", answer.Body, StringComparison.Ordinal);
        List<string> records = await g.StopAndReadAuditAsync();
        string all = string.Join("\n", records);
        AssertNoSensitiveData(all);
        Assert.DoesNotContain("\"555\"", all, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_header_that_mirrors_a_security_code_is_masked_whole_with_the_body()
    {
        await using CardGateway g = await CardGateway.StartAsync(upstreamScript: CardGateway.EmptyResult);
        RawResponse answer = await g.PostAsync(CardGateway.ToolCall("1", "pay", "{\"cvv\":\"123\",\"note\":\"n\"}"), "Mcp-Param-Cvv: 123\r\nMcp-Param-Note: n\r\n");

        Assert.Equal(200, answer.Status);
        UpstreamRequest forwarded = g.Upstream.SingleRequest();
        Assert.Equal("***", forwarded.Header("Mcp-Param-Cvv"));
        Assert.Equal("n", forwarded.Header("Mcp-Param-Note"));
        Assert.Contains("\"cvv\":\"***\"", forwarded.Body, StringComparison.Ordinal);
    }
}
