using System.Text;

namespace FastMcp.Audit.Tests;

/// <summary>Realistic masked exchanges for tests.</summary>
public static class SampleEvents
{
    public static void Fill(AuditEvent e, int i, string session = "sess-1", string subject = "alice", string tool = "get_weather")
    {
        e.Reset();
        e.Type = AuditEventType.McpExchange;
        e.TimestampUtc = new DateTime(2026, 11, 23, 12, 0, 0, DateTimeKind.Utc).AddTicks(i * 10_017L);
        e.Success = i % 7 != 3;
        e.Subject = subject;
        e.Groups = ["payments", "eng"];
        e.ClientId = "ci-agent";
        e.ClientAddress = "10.0.0." + (i % 250);
        e.McpClientName = "claude-code";
        e.McpClientVersion = "1.0.0";
        e.Upstream = "weather";
        e.Method = "tools/call";
        e.Target = tool;
        e.SessionId = session;
        e.JsonRpcIdRaw = Encoding.UTF8.GetBytes(i.ToString(System.Globalization.CultureInfo.InvariantCulture));
        e.Decision = "allow";
        e.Rule = "payments-can-read";
        e.HttpStatus = 200;
        e.RequestPayload = Encoding.UTF8.GetBytes("{\"jsonrpc\":\"2.0\",\"id\":" + i + ",\"method\":\"tools/call\",\"params\":{\"name\":\"" + tool + "\",\"arguments\":{\"card\":\"411111******1111\",\"city\":\"Berlin\"}}}");
        e.ResponsePayload = Encoding.UTF8.GetBytes("{\"jsonrpc\":\"2.0\",\"id\":" + i + ",\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"sunny, 21C\"}]}}");
        e.CardFingerprints.Add("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
        e.LatencyMicroseconds = 1234 + i;
    }

    /// <summary>A sampling request an upstream sent the client on an event stream, as the gateway records it.</summary>
    public static void FillServerRequest(AuditEvent e, int i)
    {
        Fill(e, i);
        e.ServerToClient = true;
        e.Method = "sampling/createMessage";
        e.Target = null;
        e.Decision = null;
        e.Rule = null;
        e.HttpStatus = 0;
        e.LatencyMicroseconds = 0;
        e.CardFingerprints.Clear();
        e.Detail = "server request";
        e.JsonRpcIdRaw = Encoding.UTF8.GetBytes("\"srv-" + i + "\"");
        e.RequestPayload = Encoding.UTF8.GetBytes("{\"jsonrpc\":\"2.0\",\"id\":\"srv-" + i + "\",\"method\":\"sampling/createMessage\",\"params\":{\"messages\":[]," +
            "\"maxTokens\":10}}");
        e.ResponsePayload = default;
    }

    /// <summary>A progress notification an upstream sent the client on an event stream, as the gateway records it.</summary>
    public static void FillServerNotification(AuditEvent e, int i)
    {
        FillServerRequest(e, i);
        e.Method = "notifications/progress";
        e.Detail = "server notification";
        e.JsonRpcIdRaw = default;
        e.RequestPayload = Encoding.UTF8.GetBytes("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{\"progressToken\":\"p" + i + "\",\"progress\":1}}");
    }

    /// <summary>An event the gateway withheld (not a readable JSON-RPC message): a Denied record, its data kept as base64.</summary>
    public static void FillWithheldEvent(AuditEvent e, int i)
    {
        FillServerRequest(e, i);
        e.Type = AuditEventType.Denied;
        e.Success = false;
        e.Method = null;
        e.JsonRpcIdRaw = default;
        e.Detail = "withheld: not a readable JSON-RPC message; the stream was ended";
        e.RequestPayload = Encoding.UTF8.GetBytes("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{\"data\":\"cut " + i);
    }

    /// <summary>Writes <paramref name="count"/> exchanges and closes the log cleanly.</summary>
    public static async Task WriteLogAsync(AuditOptions options, int count, int perSegment = 0)
    {
        if (perSegment > 0) options.MaxSegmentBytes = 4096;
        await using var log = await AuditLog.OpenAsync(options);
        var e = new AuditEvent();
        for (int i = 0; i < count; i++)
        {
            Fill(e, i, session: "sess-" + (i % 3), subject: i % 2 == 0 ? "alice" : "bob", tool: i % 4 == 0 ? "charge_card" : "get_weather");
            await log.AppendAsync(e);
        }
    }
}
