using System.Text;
using FastMcp.Gateway.Stages;
using FastMcp.Pan;
using FastMcp.Pan.Payloads;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>The base64 payload walker and codec on their own: what counts as a payload, every encoder's form, and no allocation.</summary>
public sealed class Base64PayloadsTests
{
    private static readonly PanMasker Masker = new(new PanMaskingOptions { FingerprintKey = new byte[16] });
    private const string Text = "paid with 4111 1111 1111 1111 today";
    private const string MaskedText = "paid with 4111 11** **** 1111 today";

    private static string B64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));

    private static (Base64Payloads.Result Result, string Json, int Cards) Mask(string json)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(json);
        CardFindings findings = default;
        Base64Payloads.Result result = Base64Payloads.MaskInPlace(Masker, bytes, ref findings);
        return (result, Encoding.UTF8.GetString(bytes), findings.Count);
    }

    [Theory]
    [InlineData("{\"blob\":\"B64\"}")]
    [InlineData("{\"data\":\"B64\"}")]
    [InlineData("{\"bLoB\":\"B64\"}")]
    [InlineData("{\"bl\\u006fb\":\"B64\"}")]
    [InlineData("[{\"a\":[{\"b\":{\"DATA\":\"B64\"}}]}]")]
    public void Finds_the_payload_under_either_name_in_any_case_or_escaped_form_at_any_depth(string template)
    {
        (Base64Payloads.Result result, string json, int cards) = Mask(template.Replace("B64", B64(Text)));

        Assert.Equal(Base64Payloads.Result.Masked, result);
        Assert.Equal(1, cards);
        Assert.Equal(template.Replace("B64", B64(MaskedText)), json);
    }

    [Theory]
    [InlineData("{\"text\":\"B64\"}")] // another member: its text is the text masker's
    [InlineData("{\"blobs\":\"B64\"}")]
    [InlineData("{\"data\":[\"B64\"]}")] // not a string member
    [InlineData("{\"x\":\"blob\",\"y\":\"B64\"}")] // "blob" as a value names nothing
    public void Leaves_strings_that_are_not_payloads(string template)
    {
        string original = template.Replace("B64", B64(Text));
        (Base64Payloads.Result result, string json, _) = Mask(original);

        Assert.Equal(Base64Payloads.Result.Unchanged, result);
        Assert.Equal(original, json);
    }

    [Fact]
    public void Url_safe_base64_unpadded_base64_and_whitespace_are_read_as_lenient_decoders_read_them()
    {
        string standard = B64(Text + "??>>");
        string urlSafe = standard.Replace('+', '-').Replace('/', '_').TrimEnd('=');
        Assert.Contains('_', urlSafe);
        (Base64Payloads.Result result, string json, _) = Mask("{\"data\":\"" + urlSafe + "\",\"blob\":\"" + standard[..20] + "\\r\\n" + standard[20..] + "\"}");

        Assert.Equal(Base64Payloads.Result.Masked, result);
        string maskedStandard = B64(MaskedText + "??>>");
        Assert.Equal("{\"data\":\"" + maskedStandard.Replace('+', '-').Replace('/', '_').TrimEnd('=') + "\",\"blob\":\""
            + maskedStandard[..20] + "\\r\\n" + maskedStandard[20..] + "\"}", json);
    }

    [Theory]
    [InlineData("NDExMTExMTExMTExMTEx")] // "411111111111111": 15 digits that are no card number
    [InlineData("not base64 at all, 4111")]
    [InlineData("QUJD")] // shorter than any card number
    [InlineData("QUJD=QUJDQUJDQUJDQUJD")] // padding in the middle: not one base64 text
    public void Strings_that_decode_to_no_card_number_or_are_not_base64_stay_as_they_are(string value)
    {
        string original = "{\"blob\":\"" + value + "\"}";
        (Base64Payloads.Result result, string json, int cards) = Mask(original);

        Assert.Equal(Base64Payloads.Result.Unchanged, result);
        Assert.Equal(0, cards);
        Assert.Equal(original, json);
    }

    [Fact]
    public void A_character_written_as_a_unicode_escape_is_rewritten_as_one_in_its_place()
    {
        // Every base64 character escaped, as an encoder that escapes everything writes it.
        string b64 = B64(Text);
        string escaped = string.Concat(b64.Select(c => "\\u00" + ((int)c).ToString("x2")));
        (Base64Payloads.Result result, string json, _) = Mask("{\"blob\":\"" + escaped + "\"}");

        Assert.Equal(Base64Payloads.Result.Masked, result);
        Assert.Equal(escaped.Length + 11, json.Length);
        string unescaped = System.Text.Json.JsonDocument.Parse(json).RootElement.GetProperty("blob").GetString()!;
        Assert.Equal(MaskedText, Encoding.UTF8.GetString(Convert.FromBase64String(unescaped)));
    }

    [Fact]
    public void Json_nested_deeper_than_the_reader_reads_is_refused_and_text_that_is_not_json_is_left()
    {
        string deep = new string('[', 1100) + "{\"blob\":\"" + B64(Text) + "\"}" + new string(']', 1100);
        Assert.Equal(Base64Payloads.Result.Refused, Mask(deep).Result);

        string html = "<html><body class=\"data\">" + B64(Text) + "</body></html>";
        Assert.Equal((Base64Payloads.Result.Unchanged, html), (Mask(html).Result, Mask(html).Json));
    }

    [Fact]
    public void A_changed_character_that_was_written_as_an_escaped_slash_refuses_the_message_and_a_plain_one_is_rewritten()
    {
        // A masked Devanagari nine (E0 A5 AF) followed by another digit gives a base64 character that was '/' (six ones)
        // and changes; PHP writes '/' as "\/", two bytes, where no other character fits.
        const string digits = "4111119999991116"; // Luhn-valid, nines among the masked digits
        string devanagari = string.Concat(digits.Select(d => (char)('\u0966' + (d - '0'))));
        int refused = 0;
        for (int shift = 0; shift < 3; shift++)
        {
            string b64 = B64(new string('x', shift) + " card " + devanagari + " end");
            (Base64Payloads.Result plain, string json, _) = Mask("{\"blob\":\"" + b64 + "\"}");
            Assert.Equal(Base64Payloads.Result.Masked, plain);
            string decoded = Encoding.UTF8.GetString(Convert.FromBase64String(System.Text.Json.JsonDocument.Parse(json).RootElement.GetProperty("blob").GetString()!));
            Assert.DoesNotContain(devanagari, decoded, StringComparison.Ordinal);
            if (!b64.Contains('/')) continue;
            if (Mask("{\"blob\":\"" + b64.Replace("/", "\\/") + "\"}").Result == Base64Payloads.Result.Refused) refused++;
        }
        Assert.True(refused > 0);
    }

    [Fact]
    public void Masking_payloads_allocates_nothing_in_steady_state()
    {
        byte[] template = Encoding.UTF8.GetBytes("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"contents\":[{\"uri\":\"file:///a\",\"blob\":\"" + B64(Text) + "\"}],"
            + "\"description\":\"no payload\",\"data\":\"" + B64("nothing to mask here at all") + "\"}}");
        byte[] work = new byte[template.Length];
        CardFindings findings = default;
        for (int i = 0; i < 200; i++) Once(template, work, ref findings);
        Assert.Equal(0, ThreadAllocations.Measure(() => { for (int i = 0; i < 2_000; i++) Once(template, work, ref findings); }));
        Assert.Contains(B64(MaskedText), Encoding.UTF8.GetString(work), StringComparison.Ordinal);
    }

    [Fact]
    public void Masking_a_tool_result_with_a_track_and_security_codes_allocates_nothing_in_steady_state()
    {
        // As the response stage does: card numbers and tracks in the text, then the payload and sensitive member walk.
        byte[] template = Encoding.UTF8.GetBytes("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"structuredContent\":{\"track2\":\";4111111111111111=28121010000012345678?\","
            + "\"cvv\":\"123\",\"card_Security-Code\":456,\"c\\u0076c2\":\"789\",\"pinBlock\":{\"value\":\"0412AC89ABCDEF67\"}}}}");
        byte[] work = new byte[template.Length];
        CardFindings findings = default;
        void Pass(ref CardFindings f)
        {
            template.CopyTo(work, 0);
            f.Reset();
            Masker.MaskStringsInPlace(new System.Buffers.ReadOnlySequence<byte>(work), ref f, out _);
            Base64Payloads.MaskInPlace(Masker, work, ref f);
        }
        for (int i = 0; i < 200; i++) Pass(ref findings);
        Assert.Equal(0, ThreadAllocations.Measure(() => { for (int i = 0; i < 2_000; i++) Pass(ref findings); }));
        Assert.Equal(1, findings.Count);
        Assert.Equal(5, findings.Sensitive);
        Assert.Equal("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"structuredContent\":{\"track2\":\";411111******1111=********************?\","
            + "\"cvv\":\"***\",\"card_Security-Code\":900,\"c\\u0076c2\":\"***\",\"pinBlock\":{\"value\":\"****************\"}}}}", Encoding.UTF8.GetString(work));
    }

    private static void Once(byte[] template, byte[] work, ref CardFindings findings)
    {
        template.CopyTo(work, 0);
        findings.Reset();
        if (Base64Payloads.MaskInPlace(Masker, work, ref findings) != Base64Payloads.Result.Masked) throw new InvalidOperationException("not masked");
    }

    [Fact]
    public void A_payload_that_cannot_be_masked_is_left_as_it_was_and_a_recorded_copy_has_it_blanked_and_the_rest_masked()
    {
        string blob = RefusedRequestRecordTests.UnmaskableBlob();
        string json = "{\"a\":{\"blob\":\"" + blob + "\"},\"b\":{\"data\":\"" + B64(Text) + "\"},\"cvv\":\"123\"}";

        // Sent on: refused, and the payload is not half rewritten (nothing of it changed).
        (Base64Payloads.Result result, string sent, _) = Mask(json);
        Assert.Equal(Base64Payloads.Result.Refused, result);
        Assert.Contains(blob, sent, StringComparison.Ordinal);

        // Recorded: blanked, same length, and the walk went on past it.
        byte[] bytes = Encoding.UTF8.GetBytes(json);
        CardFindings findings = default;
        Assert.Equal(Base64Payloads.Result.Refused, Base64Payloads.MaskForRecordInPlace(Masker, bytes, ref findings));
        string recorded = Encoding.UTF8.GetString(bytes);
        Assert.Equal(json.Length, recorded.Length);
        Assert.Contains("\"blob\":\"" + new string('*', blob.Length) + "\"", recorded, StringComparison.Ordinal);
        Assert.Contains("\"data\":\"" + B64(MaskedText) + "\"", recorded, StringComparison.Ordinal);
        Assert.Contains("\"cvv\":\"***\"", recorded, StringComparison.Ordinal);
    }
}
