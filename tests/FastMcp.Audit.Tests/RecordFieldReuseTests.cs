using System.Reflection;
using System.Text;
using FastMcp.Audit.Format;
using FastMcp.Audit.Reading;
using FastMcp.Audit.Recording;
using FastMcp.Pan;

namespace FastMcp.Audit.Tests;

/// <summary>
/// An event written a second time (an exchange's response record after its request record) copies the fields it
/// shares with the first record. Whatever changed in between, the record must be byte for byte what a fresh
/// serialization of the same values writes, card numbers masked.
/// </summary>
public sealed class RecordFieldReuseTests
{
    private const string Pan = "4111111111111111";

    private static AuditEvent Request()
    {
        var e = new AuditEvent();
        SampleEvents.Fill(e, 7);
        e.TraceHigh = 0x0123456789abcdef;
        e.TraceLow = 0x1111111111111111;
        e.SpanId = 42;
        e.UpstreamName = "default";
        e.Query = "?tenant=eu&page=2"u8.ToArray();
        e.Headers = "x-mcp-readonly:true,x-tenant:prod"u8.ToArray();
        e.Cookies = "sid=9a0c6a1d4e2b7f3a5c8d0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d"u8.ToArray();
        e.Approver = null;
        e.Detail = "request";
        e.ResponsePayload = default;
        e.HttpStatus = 0;
        e.LatencyMicroseconds = 0;
        return e;
    }

    /// <summary>What the response record changes: the rest stays as the request record had it.</summary>
    private static void TurnIntoResponse(AuditEvent e)
    {
        e.Detail = "response";
        e.RequestPayload = default;
        e.ResponsePayload = Encoding.UTF8.GetBytes("""{"jsonrpc":"2.0","id":7,"result":{}}""");
        e.HttpStatus = 200;
        e.LatencyMicroseconds = 812;
        e.Success = true;
        e.CardFingerprints.Add("ab12");
    }

    /// <summary>The same values in an event that was never written (so nothing can be reused).</summary>
    private static AuditEvent Copy(AuditEvent e)
    {
        var copy = new AuditEvent();
        foreach (FieldInfo f in typeof(AuditEvent).GetFields(BindingFlags.Public | BindingFlags.Instance))
        {
            if (f.Name == nameof(AuditEvent.CardFingerprints)) copy.CardFingerprints.AddRange(e.CardFingerprints);
            else f.SetValue(copy, f.GetValue(e));
        }
        return copy;
    }

    private static byte[] Serialize(AuditRecordSerializer serializer, AuditEvent e)
    {
        var buffer = new GrowableBuffer(256);
        int n = serializer.Write(buffer, e, 5, 1_700_000_000_000_000);
        return buffer.WrittenSpan[..n].ToArray();
    }

    private static string Json(byte[] record) => Encoding.UTF8.GetString(RecordLayout.ReadJson(record));

    [Fact]
    public void A_response_record_equals_a_fresh_serialization_and_copies_the_shared_fields()
    {
        var serializer = new AuditRecordSerializer();
        AuditEvent e = Request();
        Serialize(serializer, e);
        Serialize(serializer, e); // the second write keeps the shared fields
        TurnIntoResponse(e);
        byte[] reused = Serialize(serializer, e);
        Assert.NotNull(e.FieldReuse);
        Assert.True(e.FieldReuse!.Matches(e, PanMaskerForDefaultSerializer()));
        Assert.Equal(Json(Serialize(new AuditRecordSerializer(), Copy(e))), Json(reused));
        Assert.Contains("\"detail\":\"response\"", Json(reused));
        Assert.Contains("\"httpStatus\":200", Json(reused));
    }

    public static TheoryData<string> Changes() =>
    [
        "subject", "subject-null", "groups-same-values", "groups-changed", "groups-null", "client", "address", "hop",
        "certificate", "mcp-client", "upstream", "upstream-name", "method", "target", "query", "query-none", "query-bare",
        "headers", "headers-none", "pan-in-headers", "cookies", "cookies-none", "session", "trace-high", "trace-low",
        "span", "trace-none", "id", "id-none", "decision", "rule", "approver", "pan-in-rule", "pan-in-session",
    ];

    [Theory]
    [MemberData(nameof(Changes))]
    public void Any_shared_field_changed_between_records_is_written_afresh(string change)
    {
        var serializer = new AuditRecordSerializer();
        AuditEvent e = Request();
        Serialize(serializer, e);
        Serialize(serializer, e);
        TurnIntoResponse(e);
        switch (change)
        {
            case "subject": e.Subject = "bob"; break;
            case "subject-null": e.Subject = null; break;
            case "groups-same-values": e.Groups = ["payments", "eng"]; break;
            case "groups-changed": e.Groups = ["payments", "ops"]; break;
            case "groups-null": e.Groups = null; break;
            case "client": e.ClientId = "other-agent"; break;
            case "address": e.ClientAddress = "10.9.9.9"; break;
            case "hop": e.ClientHop = "10.0.0.1"; break;
            case "certificate": e.ClientCertificateSubject = "CN=agent"; e.ClientCertificateSha256 = "ff00"; break;
            case "mcp-client": e.McpClientName = "other"; e.McpClientVersion = null; break;
            case "upstream": e.Upstream = "http://elsewhere/mcp"; break;
            case "upstream-name": e.UpstreamName = "payments"; break;
            case "method": e.Method = "tools/list"; break;
            case "target": e.Target = "charge_card"; break;
            case "query": e.Query = "?tenant=us&page=2"u8.ToArray(); break;
            case "query-none": e.Query = default; break;
            case "query-bare": e.Query = "?"u8.ToArray(); break;
            case "headers": e.Headers = "x-mcp-readonly:false,x-tenant:prod"u8.ToArray(); break;
            case "headers-none": e.Headers = default; break;
            case "pan-in-headers": e.Headers = Encoding.ASCII.GetBytes("x-note:" + Pan); break;
            case "cookies": e.Cookies = "sid=0a0c6a1d4e2b7f3a5c8d0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d"u8.ToArray(); break;
            case "cookies-none": e.Cookies = default; break;
            case "session": e.SessionId = "sess-2"; break;
            case "trace-high": e.TraceHigh++; break;
            case "trace-low": e.TraceLow++; break;
            case "span": e.SpanId++; break;
            case "trace-none": e.TraceHigh = e.TraceLow = e.SpanId = 0; break;
            case "id": e.JsonRpcIdRaw = "8"u8.ToArray(); break;
            case "id-none": e.JsonRpcIdRaw = default; break;
            case "decision": e.Decision = "deny"; break;
            case "rule": e.Rule = "other-rule"; break;
            case "approver": e.Approver = "carol"; break;
            case "pan-in-rule": e.Rule = "rule " + Pan; break;
            case "pan-in-session": e.SessionId = "s-" + Pan; break;
            default: throw new ArgumentOutOfRangeException(nameof(change));
        }
        byte[] written = Serialize(serializer, e);
        Assert.Equal(Json(Serialize(new AuditRecordSerializer(), Copy(e))), Json(written));
        Assert.False(PanMasker.ContainsCardNumber(RecordLayout.ReadJson(written)), Json(written));
        // And the record after it, with nothing changed, reuses what was just written.
        byte[] again = Serialize(serializer, e);
        Assert.Equal(Json(written), Json(again));
    }

    /// <summary>The next exchange's request on the same event: its own id, no response yet (the caller and route stay).</summary>
    private static void TurnIntoNextRequest(AuditEvent e)
    {
        e.Detail = "request";
        e.RequestPayload = Encoding.UTF8.GetBytes("""{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"get_weather"}}""");
        e.ResponsePayload = default;
        e.HttpStatus = 0;
        e.LatencyMicroseconds = 0;
        e.CardFingerprints.Clear();
        e.JsonRpcIdRaw = "8"u8.ToArray();
    }

    public static TheoryData<string> ExchangeChanges() =>
    [
        "id-only", "id-none", "id-pan-bare", "id-pan-string", "session", "session-none", "pan-in-session", "trace-new", "trace-none",
        "decision", "rule", "pan-in-rule", "approver", "pan-in-approver",
    ];

    [Theory]
    [MemberData(nameof(ExchangeChanges))]
    public void The_next_exchanges_request_record_copies_the_caller_origin_and_component_and_equals_a_fresh_serialization(string change)
    {
        var serializer = new AuditRecordSerializer();
        AuditEvent e = Request();
        e.Subject = "user " + Pan; // masked where it is kept, so the copy must carry the masked form
        Serialize(serializer, e);
        Serialize(serializer, e);
        TurnIntoResponse(e);
        Serialize(serializer, e);
        TurnIntoNextRequest(e);
        switch (change)
        {
            case "id-only": break;
            case "id-none": e.JsonRpcIdRaw = default; break;
            case "id-pan-bare": e.JsonRpcIdRaw = Encoding.UTF8.GetBytes(Pan); break;
            case "id-pan-string": e.JsonRpcIdRaw = Encoding.UTF8.GetBytes("\"" + Pan + "\""); break;
            case "session": e.SessionId = "sess-2"; break;
            case "session-none": e.SessionId = null; break;
            case "pan-in-session": e.SessionId = Pan; break;
            case "trace-new": e.TraceHigh = 0x4111111111111111; e.TraceLow = 0x1111111111111111; e.SpanId = 0x4111111111111111; break;
            case "trace-none": e.TraceHigh = e.TraceLow = e.SpanId = 0; break;
            case "decision": e.Decision = "deny"; break;
            case "rule": e.Rule = "other-rule"; break;
            case "pan-in-rule": e.Rule = "rule " + Pan; break;
            case "approver": e.Approver = "carol"; break;
            case "pan-in-approver": e.Approver = "4111 1111 1111 1111"; break;
            default: throw new ArgumentOutOfRangeException(nameof(change));
        }
        PanMasker masker = PanMaskerForDefaultSerializer();
        // The session is the caller's part's last field: another session is written afresh with the caller.
        Assert.Equal(!change.Contains("session"), e.FieldReuse!.MatchesCaller(e, masker));
        Assert.False(e.FieldReuse.Matches(e, masker));
        byte[] request = Serialize(serializer, e);
        Assert.Equal(Json(Serialize(new AuditRecordSerializer(), Copy(e))), Json(request));
        Assert.False(PanMasker.ContainsCardNumber(RecordLayout.ReadJson(request)), Json(request));
        Assert.Contains("\"subject\":\"user 411111******1111\"", Json(request));
        // The response record after it copies the whole region the request record kept.
        TurnIntoResponse(e);
        Assert.True(e.FieldReuse.Matches(e, masker));
        byte[] response = Serialize(serializer, e);
        Assert.Equal(Json(Serialize(new AuditRecordSerializer(), Copy(e))), Json(response));
        Assert.False(PanMasker.ContainsCardNumber(RecordLayout.ReadJson(response)), Json(response));
    }

    [Theory]
    [InlineData(Pan)]
    [InlineData("s-" + Pan)]
    [InlineData("4111 1111 1111 1111")]
    [InlineData("bench-0af7651916cd43dd")]
    public void A_session_holding_a_card_number_is_copied_masked_into_the_next_exchanges_request_record(string session)
    {
        var serializer = new AuditRecordSerializer();
        AuditEvent e = Request();
        e.SessionId = session;
        Serialize(serializer, e);
        Serialize(serializer, e);
        TurnIntoResponse(e);
        Serialize(serializer, e);
        TurnIntoNextRequest(e);
        Assert.True(e.FieldReuse!.MatchesCaller(e, PanMaskerForDefaultSerializer()));
        byte[] request = Serialize(serializer, e);
        string fresh = Json(Serialize(new AuditRecordSerializer(), Copy(e)));
        Assert.Equal(fresh, Json(request));
        Assert.False(PanMasker.ContainsCardNumber(RecordLayout.ReadJson(request)), Json(request));
        Assert.DoesNotContain(Pan, Json(request));
        Assert.Contains("\"session\":", Json(request));
    }

    [Fact]
    public void Each_exchanges_own_trace_is_masked_when_its_hex_holds_a_card_numbers_run_of_digits()
    {
        // Random traces (a few in a hundred have a 12-digit decimal run), and ones whose hex spells a card number.
        var random = new Random(14);
        var traces = new List<(ulong High, ulong Low, ulong Span)>
        {
            (0x4111111111111111, 0x0a0a0a0a0a0a0a0a, 0x0b0b0b0b0b0b0b0b),
            (0x0a0a0a0a0a0a0a0a, 0x4111111111111111, 0x0b0b0b0b0b0b0b0b),
            (0x0a0a0a0a0a0a0a0a, 0x0b0b0b0b0b0b0b0b, 0x4111111111111111),
            // A card number across the id's two halves: "…a4111111" + "111111111…"
            (0xaaaaaaaaa4111111, 0x111111111aaaaaaa, 0x0b0b0b0b0b0b0b0b),
            (0x0a0a0a0a0a0a0a0a, 0x0b0b0b0b0b0b0b0b, 0),
        };
        for (int i = 0; i < 3000; i++) traces.Add(((ulong)random.NextInt64(), (ulong)random.NextInt64(), (ulong)random.NextInt64()));
        var serializer = new AuditRecordSerializer();
        AuditEvent e = Request();
        Serialize(serializer, e);
        Serialize(serializer, e);
        int withRun = 0;
        foreach ((ulong high, ulong low, ulong span) in traces)
        {
            TurnIntoNextRequest(e);
            (e.TraceHigh, e.TraceLow, e.SpanId) = (high, low, span);
            if (!AuditRecordSerializer.TraceHoldsNoDigitRun(e)) withRun++;
            Assert.True(e.FieldReuse!.MatchesCaller(e, PanMaskerForDefaultSerializer()));
            byte[] request = Serialize(serializer, e);
            Assert.Equal(Json(Serialize(new AuditRecordSerializer(), Copy(e))), Json(request));
            Assert.False(PanMasker.ContainsCardNumber(RecordLayout.ReadJson(request)), Json(request));
            TurnIntoResponse(e);
            Assert.Equal(Json(Serialize(new AuditRecordSerializer(), Copy(e))), Json(Serialize(serializer, e)));
        }
        Assert.InRange(withRun, 4, 1000);
    }

    [Fact]
    public void A_changed_caller_field_is_not_taken_from_the_last_exchange()
    {
        var serializer = new AuditRecordSerializer();
        AuditEvent e = Request();
        Serialize(serializer, e);
        Serialize(serializer, e);
        TurnIntoNextRequest(e);
        e.Target = "charge_card " + Pan;
        Assert.False(e.FieldReuse!.MatchesCaller(e, PanMaskerForDefaultSerializer()));
        byte[] request = Serialize(serializer, e);
        Assert.Equal(Json(Serialize(new AuditRecordSerializer(), Copy(e))), Json(request));
        Assert.Contains("\"target\":\"charge_card 411111******1111\"", Json(request));
    }

    [Fact]
    public void Card_numbers_in_the_shared_fields_stay_masked_in_the_reused_record()
    {
        var serializer = new AuditRecordSerializer();
        AuditEvent e = Request();
        e.Subject = "user " + Pan;
        e.SessionId = Pan;
        e.JsonRpcIdRaw = Encoding.UTF8.GetBytes(Pan);
        e.Approver = "4111 1111";
        e.Detail = "1111 1111 by " + Pan;
        Serialize(serializer, e);
        Serialize(serializer, e);
        TurnIntoResponse(e);
        e.Detail = "1111 1111 1111";
        byte[] reused = Serialize(serializer, e);
        Assert.True(e.FieldReuse!.Matches(e, PanMaskerForDefaultSerializer()));
        Assert.False(PanMasker.ContainsCardNumber(RecordLayout.ReadJson(reused)), Json(reused));
        Assert.Equal(Json(Serialize(new AuditRecordSerializer(), Copy(e))), Json(reused));
        Assert.Contains("\"session\":\"411111******1111\"", Json(reused));
    }

    [Fact]
    public void A_serializer_with_another_masker_does_not_take_fields_masked_by_the_first()
    {
        AuditEvent e = Request();
        e.Subject = "user " + Pan;
        var keepSix = new AuditRecordSerializer();
        Serialize(keepSix, e);
        Serialize(keepSix, e);
        var keepNone = new AuditRecordSerializer(new PanMasker(new PanMaskingOptions { KeepFirst = 0, KeepLast = 4, ComputeFingerprints = false }));
        byte[] written = Serialize(keepNone, e);
        Assert.Contains("\"subject\":\"user ************1111\"", Json(written));
    }

    [Fact]
    public void The_query_is_written_under_component_without_its_question_mark_and_without_allocating()
    {
        AuditEvent e = Request();
        e.Headers = e.Cookies = default;
        Assert.Contains("\"target\":\"get_weather\",\"query\":\"tenant=eu\\u0026page=2\"}", Json(Serialize(new AuditRecordSerializer(), e)));
        e.Query = "?"u8.ToArray();
        Assert.Contains("\"query\":\"\"}", Json(Serialize(new AuditRecordSerializer(), e)));
        e.Query = default;
        Assert.DoesNotContain("\"query\"", Json(Serialize(new AuditRecordSerializer(), e)));
        e.Query = "?tenant=eu&page=2"u8.ToArray();
        Assert.Equal(0, SerializerAllocations.OfRepeatedWrites(new AuditRecordSerializer(), e, fresh: true));
    }

    [Fact]
    public void The_forwarded_fields_and_cookies_follow_the_query_in_component_and_cost_no_allocation()
    {
        AuditEvent e = Request();
        Assert.Contains("\"query\":\"tenant=eu\\u0026page=2\",\"headers\":\"x-mcp-readonly:true,x-tenant:prod\",\"cookies\":\"sid=9a0c", Json(Serialize(new AuditRecordSerializer(), e)));
        e.Cookies = default;
        Assert.Contains("\"headers\":\"x-mcp-readonly:true,x-tenant:prod\"}", Json(Serialize(new AuditRecordSerializer(), e)));
        e.Headers = default;
        Assert.DoesNotContain("\"headers\"", Json(Serialize(new AuditRecordSerializer(), e)));
        e.Headers = "x-mcp-readonly:true,x-tenant:prod"u8.ToArray();
        Assert.Equal(0, SerializerAllocations.OfRepeatedWrites(new AuditRecordSerializer(), e, fresh: true));
    }

    [Fact]
    public void An_event_written_once_keeps_nothing()
    {
        AuditEvent e = Request();
        Serialize(new AuditRecordSerializer(), e);
        Assert.Null(e.FieldReuse);
    }

    [Fact]
    public void Reusing_the_shared_fields_allocates_nothing()
    {
        AuditEvent e = Request();
        Assert.Equal(0, SerializerAllocations.OfRepeatedWrites(new AuditRecordSerializer(), e, fresh: false));
        Assert.True(e.FieldReuse!.Matches(e, PanMaskerForDefaultSerializer()));
    }

    [Fact]
    public void Copying_the_caller_fields_into_the_next_exchanges_record_allocates_nothing()
    {
        var serializer = new AuditRecordSerializer();
        AuditEvent e = Request();
        byte[][] ids = ["8"u8.ToArray(), "9"u8.ToArray()];
        var buffer = new GrowableBuffer(64 * 1024);
        int sequence = 0;
        while (sequence < 50) Write();
        Assert.True(e.FieldReuse!.MatchesCaller(e, PanMaskerForDefaultSerializer()));
        Assert.Equal(0, ThreadAllocations.Measure(() => { for (int i = 0; i < 200; i++) Write(); }));

        // Each write is another exchange's request: its id differs from the one kept, its caller does not.
        void Write()
        {
            e.JsonRpcIdRaw = ids[sequence % 2];
            buffer.Clear();
            serializer.Write(buffer, e, sequence++, 1);
        }
    }

    private static PanMasker PanMaskerForDefaultSerializer() =>
        (PanMasker)typeof(AuditRecordSerializer).GetField("DefaultFieldMasker", BindingFlags.NonPublic | BindingFlags.Static)!.GetValue(null)!;
}
