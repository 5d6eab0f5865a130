using System.Text;
using System.Text.Json;
using FastMcp.Audit.Format;
using FastMcp.Audit.Reading;
using FastMcp.Audit.Recording;

namespace FastMcp.Audit.Tests;

public sealed class RecordFormatTests
{
    private static (byte[] Body, JsonElement Json) Serialize(AuditEvent e, long seq = 42)
    {
        var buffer = new GrowableBuffer(64);
        long micros = NoteValues.ToUnixMicros(e.TimestampUtc);
        int n = new AuditRecordSerializer().Write(buffer, e, seq, micros);
        var body = buffer.WrittenSpan[..n].ToArray();
        return (body, JsonDocument.Parse(RecordLayout.ReadJson(body).ToArray()).RootElement.Clone());
    }

    [Fact]
    public void A_record_carries_every_pci_10_2_2_field()
    {
        var e = new AuditEvent();
        SampleEvents.Fill(e, 7);
        e.Approver = "carol";
        e.Detail = "approved by carol";
        e.TimestampUtc = new DateTime(2026, 1, 2, 3, 4, 5, DateTimeKind.Utc).AddTicks(1234560);
        var (body, json) = Serialize(e);
        Assert.Equal(42, RecordLayout.ReadSequence(body));
        Assert.Equal(AuditEventType.McpExchange, RecordLayout.ReadType(body));
        Assert.Equal("2026-01-02T03:04:05.123456Z", json.GetProperty("time").GetString());
        Assert.Equal("McpExchange", json.GetProperty("type").GetString());
        Assert.Equal("alice", json.GetProperty("user").GetProperty("subject").GetString());
        Assert.Equal("payments", json.GetProperty("user").GetProperty("groups")[0].GetString());
        Assert.Equal("ci-agent", json.GetProperty("user").GetProperty("client").GetString());
        Assert.Equal("10.0.0.7", json.GetProperty("origin").GetProperty("address").GetString());
        Assert.Equal("claude-code", json.GetProperty("origin").GetProperty("mcpClient").GetProperty("name").GetString());
        Assert.Equal("weather", json.GetProperty("component").GetProperty("upstream").GetString());
        Assert.Equal("get_weather", json.GetProperty("component").GetProperty("target").GetString());
        Assert.Equal("sess-1", json.GetProperty("session").GetString());
        Assert.Equal(7, json.GetProperty("jsonrpcId").GetInt32());
        Assert.Equal("allow", json.GetProperty("decision").GetString());
        Assert.Equal("payments-can-read", json.GetProperty("rule").GetString());
        Assert.Equal("carol", json.GetProperty("approver").GetString());
        Assert.Equal(1241, json.GetProperty("latencyUs").GetInt64());
        Assert.Equal(64, json.GetProperty("cardFingerprints")[0].GetString()!.Length);
        Assert.Equal("tools/call", json.GetProperty("request").GetProperty("method").GetString());
        Assert.Equal("sunny, 21C", json.GetProperty("response").GetProperty("result").GetProperty("content")[0].GetProperty("text").GetString());
        Assert.True(json.GetProperty("success").GetBoolean());
    }

    [Fact]
    public void A_payload_that_is_not_json_is_kept_base64_under_a_name_that_says_so()
    {
        var e = new AuditEvent { Type = AuditEventType.Denied, TimestampUtc = DateTime.UtcNow, RequestPayload = Encoding.UTF8.GetBytes("{\"truncated\":"), JsonRpcIdRaw = "\"abc\""u8.ToArray() };
        var (_, json) = Serialize(e);
        Assert.False(json.TryGetProperty("request", out _));
        Assert.Equal("{\"truncated\":", Encoding.UTF8.GetString(json.GetProperty("requestNotJsonBase64").GetBytesFromBase64()));
        Assert.Equal("abc", json.GetProperty("jsonrpcId").GetString());
        Assert.Equal("Denied", json.GetProperty("type").GetString());
    }

    [Fact]
    public void A_request_its_caller_parsed_is_embedded_as_sent_and_reset_forgets_that_it_was_parsed()
    {
        var e = new AuditEvent { Type = AuditEventType.McpExchange, TimestampUtc = DateTime.UtcNow, RequestPayloadIsJson = true,
            RequestPayload = Encoding.UTF8.GetBytes("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}") };
        var (_, json) = Serialize(e);
        Assert.Equal("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}", json.GetProperty("request").GetRawText());
        e.Reset();
        Assert.False(e.RequestPayloadIsJson);
    }

    [Fact]
    public void A_response_its_caller_viewed_is_embedded_as_given_unviewed_bytes_are_checked_and_reset_forgets_the_view()
    {
        // The flag is the caller's word that these exact bytes are one JSON message: the serializer does not parse them again.
        var e = new AuditEvent { Type = AuditEventType.McpExchange, TimestampUtc = DateTime.UtcNow, ResponsePayloadIsJson = true,
            ResponsePayload = Encoding.UTF8.GetBytes("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}") };
        var (_, json) = Serialize(e);
        Assert.Equal("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}", json.GetProperty("response").GetRawText());
        e.Reset();
        Assert.False(e.ResponsePayloadIsJson);
        // Without it, bytes that are not one JSON value are still kept base64-encoded under the other name.
        e.Type = AuditEventType.McpExchange;
        e.TimestampUtc = DateTime.UtcNow;
        e.ResponsePayload = Encoding.UTF8.GetBytes("{\"result\":");
        (_, json) = Serialize(e);
        Assert.False(json.TryGetProperty("response", out _));
        Assert.Equal("{\"result\":", Encoding.UTF8.GetString(json.GetProperty("responseNotJsonBase64").GetBytesFromBase64()));
    }

    [Fact]
    public void Reset_clears_everything()
    {
        var e = new AuditEvent();
        SampleEvents.Fill(e, 1);
        e.Reset();
        var (_, json) = Serialize(e);
        Assert.Empty(json.GetProperty("user").EnumerateObject());
        Assert.False(json.TryGetProperty("request", out _));
        Assert.False(json.TryGetProperty("cardFingerprints", out _));
    }

    [Fact]
    public void Options_validation_names_the_field()
    {
        var o = new AuditOptions { SigningKeyPath = "k.pem", ChainId = "bad/chain" };
        Assert.Equal("ChainId", Assert.Throws<ArgumentException>(o.Validate).ParamName);
        o.ChainId = "gw-1";
        o.CompressionLevel = 40;
        Assert.Equal("CompressionLevel", Assert.Throws<ArgumentException>(o.Validate).ParamName);
        o.CompressionLevel = 1;
        o.Shipping = new ShippingOptions { Target = ShippingTarget.S3 };
        Assert.Equal("shipping.s3", Assert.Throws<ArgumentException>(o.Validate).ParamName);
        o.Shipping.S3 = new S3ShippingOptions { Bucket = "b", AccessKeyId = "x" };
        Assert.Equal("shipping.s3.accessKeyId", Assert.Throws<ArgumentException>(o.Validate).ParamName);
        o.Shipping.S3.SecretAccessKey = "y";
        o.Validate();
    }

    [Fact]
    public void Notes_reject_non_canonical_values()
    {
        var header = new SegmentHeader("gw-1", 1, 0, 1_700_000_000_000_000, 10000, "k", new byte[32], new byte[32]);
        var note = header.Encode();
        Assert.True(SegmentHeader.TryDecode(note, out var back, out _));
        Assert.Equal(header.CreatedMicros, back!.CreatedMicros);
        var text = Encoding.UTF8.GetString(note);
        Assert.False(SegmentHeader.TryDecode(Encoding.UTF8.GetBytes(text.Replace("segment: 1\n", "segment: 01\n")), out _, out _));
        Assert.False(SegmentHeader.TryDecode(Encoding.UTF8.GetBytes(text.Replace("chain: gw-1\n", "chain:  gw-1\n")), out _, out _));
        Assert.False(SegmentHeader.TryDecode(Encoding.UTF8.GetBytes(text + "extra: 1\n"), out _, out _));
        Assert.False(SegmentHeader.TryDecode(Encoding.UTF8.GetBytes(text.Replace(new string('0', 64), new string('A', 64))), out _, out _));
    }

    [Fact]
    public void The_utf8_time_writer_writes_what_the_note_format_writes()
    {
        var random = new Random(14);
        var samples = new List<long> { 0, 1, -1, 999_999, 86_400_000_000 - 1, NoteValues.ToUnixMicros(new DateTime(2024, 2, 29, 23, 59, 59, DateTimeKind.Utc)),
            NoteValues.ToUnixMicros(new DateTime(9999, 12, 31, 23, 59, 59, DateTimeKind.Utc).AddTicks(9_999_990)), NoteValues.ToUnixMicros(new DateTime(1, 1, 1, 0, 0, 0, DateTimeKind.Utc)) };
        for (int i = 0; i < 2000; i++) samples.Add(random.NextInt64(-62_135_596_800_000_000, 253_402_300_799_999_999));
        Span<byte> utf8 = stackalloc byte[NoteValues.TimeLength];
        foreach (long micros in samples)
        {
            Assert.Equal(NoteValues.TimeLength, NoteValues.FormatTime(micros, utf8));
            Assert.Equal(NoteValues.Time(micros), Encoding.ASCII.GetString(utf8));
        }
    }

    [Fact]
    public void Fields_written_before_the_sequence_is_known_compose_into_one_valid_record_with_sequence_and_time_first()
    {
        var e = new AuditEvent();
        SampleEvents.Fill(e, 3);
        e.TraceHigh = 0x0123456789abcdef;
        e.TraceLow = 0x1;
        e.SpanId = 0xfedcba9876543210;
        e.TimestampUtc = new DateTime(2026, 12, 5, 18, 0, 0, DateTimeKind.Utc).AddTicks(70);
        long micros = NoteValues.ToUnixMicros(e.TimestampUtc);

        var fields = new GrowableBuffer(64);
        new AuditRecordSerializer().WriteFields(fields, e);
        var composed = new GrowableBuffer(64);
        int n = AuditRecordSerializer.Compose(composed, fields.WrittenSpan, e.Type, 123_456_789_012, micros);
        var (body, json) = Serialize(e, 123_456_789_012);
        Assert.Equal(body, composed.WrittenSpan[..n].ToArray());

        // The sequence and time lead the object, as a reader of the format expects, and the rest is intact.
        string text = Encoding.UTF8.GetString(RecordLayout.ReadJson(body));
        Assert.StartsWith("{\"seq\":123456789012,\"time\":\"2026-12-05T18:00:00.000007Z\",\"type\":\"McpExchange\",", text);
        Assert.Equal("0123456789abcdef0000000000000001", json.GetProperty("trace").GetProperty("id").GetString());
        Assert.Equal("fedcba9876543210", json.GetProperty("trace").GetProperty("span").GetString());
        Assert.Throws<ArgumentException>(() => AuditRecordSerializer.Compose(composed, "x"u8, e.Type, 1, micros));
    }
}
