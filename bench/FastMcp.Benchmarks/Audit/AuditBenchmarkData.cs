using System.Text;
using FastMcp.Audit;

namespace FastMcp.Benchmarks.Audit;

/// <summary>A realistic exchange with ~1 KB of masked request + response JSON.</summary>
internal static class AuditBenchmarkData
{
    public static AuditEvent Exchange()
    {
        var e = new AuditEvent
        {
            Type = AuditEventType.McpExchange,
            TimestampUtc = DateTime.UtcNow,
            Success = true,
            Subject = "alice@example.com",
            Groups = ["payments", "eng"],
            ClientId = "ci-agent",
            ClientAddress = "10.1.2.3",
            McpClientName = "claude-code",
            McpClientVersion = "1.0.0",
            Upstream = "billing",
            Method = "tools/call",
            Target = "refund_payment",
            SessionId = "7f9c2ba4e88f827d616045507605853e",
            JsonRpcIdRaw = "1234"u8.ToArray(),
            Decision = "allow",
            Rule = "payments-refunds",
            HttpStatus = 200,
            LatencyMicroseconds = 1830,
        };
        var request = new StringBuilder("{\"jsonrpc\":\"2.0\",\"id\":1234,\"method\":\"tools/call\",\"params\":{\"name\":\"refund_payment\",\"arguments\":{\"card\":\"411111******1111\",\"note\":\"");
        while (request.Length < 480) request.Append("customer called about order 88231, refund approved; ");
        request.Append("\"}}}");
        var response = new StringBuilder("{\"jsonrpc\":\"2.0\",\"id\":1234,\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"");
        while (response.Length < 500) response.Append("refund 5512-ab issued to card 411111******1111 for 42.10 EUR; ");
        response.Append("\"}]}}");
        e.RequestPayload = Encoding.UTF8.GetBytes(request.ToString());
        e.ResponsePayload = Encoding.UTF8.GetBytes(response.ToString());
        e.CardFingerprints.Add("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
        return e;
    }

    private static readonly string[] Words =
    [
        "refund", "order", "customer", "approved", "declined", "card", "merchant", "invoice", "dispute", "chargeback",
        "settlement", "batch", "terminal", "currency", "amount", "partial", "captured", "authorised", "reversal", "fee",
    ];

    /// <summary>Gives the exchange per-record values (ids, amounts, text) so a segment compresses like real traffic.</summary>
    public static void Vary(AuditEvent e, Random random)
    {
        int id = random.Next(1, 1_000_000);
        var note = new StringBuilder();
        while (note.Length < 420) note.Append(Words[random.Next(Words.Length)]).Append(' ').Append(random.Next(10_000, 99_999)).Append(' ');
        var text = new StringBuilder();
        while (text.Length < 440) text.Append(Words[random.Next(Words.Length)]).Append(' ').Append(random.Next(100, 99_999)).Append('.').Append(random.Next(10, 99)).Append(" EUR ");
        e.JsonRpcIdRaw = Encoding.ASCII.GetBytes(id.ToString(System.Globalization.CultureInfo.InvariantCulture));
        e.SessionId = Convert.ToHexStringLower(BitConverter.GetBytes(random.NextInt64()));
        e.RequestPayload = Encoding.UTF8.GetBytes($"{{\"jsonrpc\":\"2.0\",\"id\":{id},\"method\":\"tools/call\",\"params\":{{\"name\":\"refund_payment\",\"arguments\":{{\"card\":\"411111******1111\",\"note\":\"{note}\"}}}}}}");
        e.ResponsePayload = Encoding.UTF8.GetBytes($"{{\"jsonrpc\":\"2.0\",\"id\":{id},\"result\":{{\"content\":[{{\"type\":\"text\",\"text\":\"{text}\"}}]}}}}");
        e.CardFingerprints.Clear();
        e.CardFingerprints.Add(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(BitConverter.GetBytes(random.Next(0, 50)))));
    }

    public static string TempDirectory()
    {
        string dir = Path.Combine(Path.GetTempPath(), "fastmcp-audit-bench-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        AuditKeys.Generate(Path.Combine(dir, "key.pem"), Path.Combine(dir, "key.pub.pem"));
        return dir;
    }
}
