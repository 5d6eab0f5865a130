using System.Reflection;
using System.Text;
using FastMcp.Audit.Format;
using FastMcp.Audit.Reading;
using FastMcp.Audit.Recording;
using FastMcp.Pan;

namespace FastMcp.Audit.Tests;

/// <summary>
/// A record that copies its shared fields is written without the JSON writer for the fields it writes itself (head, trace,
/// id, decision strings, numbers, payloads); the JSON writer's own serialization of the same values (a fresh serializer,
/// which copies nothing) is the oracle: random exchanges on one connection, with strings the writer escapes, card numbers,
/// ids that are and are not JSON, fingerprints, and payloads whole, not JSON, and too large (truncated), each record byte for
/// byte the fresh one.
/// </summary>
public sealed class RecordCopiedFieldsDifferentialTests
{
    private const string Pan = "4111111111111111";

    private static readonly string?[] Strings =
    [
        null, "allow", "deny", "Allow", "payments-can-read", "rule \"quoted\" <b>&amp;</b>", "r\u00e9gle \u212A", "tab\there\nline",
        "plus+slash/back\\", "rule " + Pan, "4111 1111 1111 1111", "", "emoji \ud83d\ude00", "lone \ud800 surrogate", "request", "response",
        new string('x', 300), "x" + new string('9', 20),
    ];

    private static readonly string[] Ids =
    [
        "1", "0", "-7", "007", "12345678901234567890123", "\"abc\"", "\"\"", "\"a\\\"b\"", "\"é\"", "\"" + Pan + "\"", Pan, "1.5", "1e3",
        " 5", "5 ", "tru", "true", "null", "{\"a\":1}", "[1,2]", "\"unterminated", "\"ctl\u0001\"", "-", "-0", "\"tab\t\"",
    ];

    [Fact]
    public void Random_exchanges_write_what_a_fresh_serialization_writes()
    {
        int copiedWhole = 0, copiedCaller = 0, truncated = 0;
        for (int connection = 0; connection < 300; connection++)
        {
            var random = new Random(connection);
            var serializer = new AuditRecordSerializer();
            var e = new AuditEvent();
            SampleEvents.Fill(e, connection);
            if (random.Next(3) == 0) e.CardFingerprints.Clear();
            for (int record = 0; record < 30; record++)
            {
                // Most records change only the exchange's fields (as the gateway's do); some change nothing, a few the caller.
                int change = random.Next(10);
                if (change < 7) ChangeExchange(e, random);
                else if (change == 7) e.SessionId = random.Next(2) == 0 ? "sess-" + random.Next(3) : null;
                // A payload over the record limit, recorded truncated (its head, length and hash), now and then.
                if (record == 5 && connection % 50 == 0) e.ResponsePayload = Huge;
                RecordFieldReuse? reuse = e.FieldReuse;
                PanMasker masker = DefaultMasker();
                if (reuse is not null && reuse.Matches(e, masker)) copiedWhole++;
                else if (reuse is not null && reuse.MatchesCaller(e, masker)) copiedCaller++;
                string fresh = Json(Serialize(new AuditRecordSerializer(), Copy(e)));
                string written = Json(Serialize(serializer, e));
                Assert.True(fresh == written, $"connection {connection} record {record}:\n{fresh}\n{written}");
                if (written.Contains("\"responseTruncated\"", StringComparison.Ordinal)) truncated++;
            }
        }
        Assert.True(truncated >= 6, $"{truncated} truncated");
        Assert.True(copiedWhole > 1000 && copiedCaller > 3000, $"{copiedWhole} whole, {copiedCaller} caller part");
    }

    [Fact]
    public void A_plain_id_is_always_one_json_value()
    {
        int plain = 0;
        const string alphabet = "0123456789-\"a\\ .e+}\u00e9\t";
        for (int seed = 0; seed < 50000; seed++)
        {
            var random = new Random(seed);
            var text = new StringBuilder();
            int length = random.Next(0, 24);
            if (random.Next(2) == 0) text.Append('"');
            for (int i = 0; i < length; i++) text.Append(alphabet[random.Next(random.Next(2) == 0 ? 10 : alphabet.Length)]);
            if (random.Next(2) == 0) text.Append('"');
            byte[] id = Encoding.UTF8.GetBytes(text.ToString());
            if (!JsonRpcIds.IsPlainValue(id)) continue;
            plain++;
            Assert.True(AuditRecordSerializer.IsSingleJsonValue(id), text.ToString());
        }
        Assert.True(plain > 5000, $"{plain} plain");
    }

    private static void ChangeExchange(AuditEvent e, Random random)
    {
        e.Type = random.Next(4) == 0 ? (AuditEventType)random.Next(Enum.GetValues<AuditEventType>().Length) : AuditEventType.McpExchange;
        e.Success = random.Next(3) != 0;
        e.TraceHigh = random.Next(5) == 0 ? 0 : (ulong)random.NextInt64();
        e.TraceLow = random.Next(5) == 0 ? 0 : (ulong)random.NextInt64();
        e.SpanId = random.Next(5) == 0 ? 0 : (ulong)random.NextInt64();
        if (random.Next(8) == 0) e.TraceHigh = 0x4111111111111111;
        e.JsonRpcIdRaw = random.Next(6) == 0 ? default : Encoding.UTF8.GetBytes(Ids[random.Next(Ids.Length)]);
        e.Decision = Strings[random.Next(Strings.Length)];
        e.Rule = Strings[random.Next(Strings.Length)];
        e.Approver = random.Next(3) == 0 ? Strings[random.Next(Strings.Length)] : null;
        e.Detail = Strings[random.Next(Strings.Length)];
        e.HttpStatus = random.Next(4) switch { 0 => 0, 1 => 200, 2 => -1, _ => random.Next() };
        e.LatencyMicroseconds = random.Next(4) switch { 0 => 0, 1 => -5, 2 => long.MaxValue, _ => random.Next() };
        e.ServerToClient = random.Next(5) == 0;
        e.CardFingerprints.Clear();
        for (int i = random.Next(4) == 0 ? random.Next(1, 3) : 0; i > 0; i--) e.CardFingerprints.Add(i == 1 ? "ab12+/\"" : "9f86d081884c7d65");
        e.RequestPayload = Payload(random);
        e.ResponsePayload = Payload(random);
        e.RequestPayloadIsJson = random.Next(2) == 0 && IsJson(e.RequestPayload.Span);
        e.ResponsePayloadIsJson = random.Next(2) == 0 && IsJson(e.ResponsePayload.Span);
    }

    private static readonly byte[] Huge = Encoding.UTF8.GetBytes("{\"text\":\"" + new string('y', RecordLayout.MaxBody + 1000) + "\"}");

    private static bool IsJson(ReadOnlySpan<byte> payload) => !payload.IsEmpty && AuditRecordSerializer.IsSingleJsonValue(payload);

    private static byte[] Payload(Random random) => random.Next(8) switch
    {
        0 => [],
        1 => Encoding.UTF8.GetBytes("not json " + Pan),
        2 => Encoding.UTF8.GetBytes(" {\"a\" : [1, 2]}\n"),
        3 when random.Next(12) == 0 => Encoding.UTF8.GetBytes("{\"text\":\"" + new string('y', random.Next(500_000, 1_200_000)) + "\"}"),
        _ => Encoding.UTF8.GetBytes("{\"jsonrpc\":\"2.0\",\"id\":" + random.Next() + ",\"result\":{\"text\":\"caf\u00e9\"}}"),
    };

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

    private static PanMasker DefaultMasker() =>
        (PanMasker)typeof(AuditRecordSerializer).GetField("DefaultFieldMasker", BindingFlags.NonPublic | BindingFlags.Static)!.GetValue(null)!;
}
