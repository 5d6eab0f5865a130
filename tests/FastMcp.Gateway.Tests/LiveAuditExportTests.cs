using System.Text.Json;
using FastMcp.Audit;
using FastMcp.Audit.Tests;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests;

/// <summary>
/// audit.export through the real gateway: calls made by a client reach a SIEM endpoint (a real listener) as the
/// records the log holds, in order with their position, masked, while the gateway keeps answering.
/// </summary>
public sealed class LiveAuditExportTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(20);
    private const string Card = "4111111111111111";

    [Fact]
    public async Task Calls_reach_the_siem_in_order_with_positions_and_no_card_number()
    {
        await using var siem = new HttpRecordReceiver();
        await using PolicyGateway gw = await PolicyGateway.StartAsync(
            x => x.RespondJsonAsync("{\"jsonrpc\":\"2.0\",\"id\":" + x.Request.IdJson() + ",\"result\":{}}"),
            [new RuleOptions { Name = "payments", Action = "allow", Methods = ["tools/call"], Names = ["pay"] }],
            options => options.Audit.Export = new AuditExportOptions { Url = siem.Url, FlushMs = 20, BatchRecords = 3, MaxBackoffMs = 50 });
        string token = gw.Token("alice");
        for (int i = 1; i <= 4; i++)
        {
            string call = "{\"jsonrpc\":\"2.0\",\"id\":" + i + ",\"method\":\"tools/call\",\"params\":{\"name\":\"pay\",\"arguments\":{\"card\":\"" + Card + "\"}}}";
            Assert.Equal(200, (await gw.PostAsync(call, token)).Status);
        }
        string denied = "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"tools/call\",\"params\":{\"name\":\"refund\",\"arguments\":{\"card\":\"" + Card + "\"}}}";
        await gw.PostAsync(denied, token);

        List<string> lines = [];
        using (var cts = new CancellationTokenSource(Limit))
        {
            while (!cts.IsCancellationRequested && !lines.Any(l => l.Contains("\"refund\"", StringComparison.Ordinal)))
                lines = await siem.WaitForLinesAsync(lines.Count + 1, TimeSpan.FromSeconds(1));
        }
        var records = lines.Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(Enumerable.Range(0, records.Count).Select(i => (long)i), records.Select(r => r.GetProperty("seq").GetInt64()));
        Assert.All(records, r => Assert.Equal("test", r.GetProperty("chain").GetString()));
        Assert.All(records, r => Assert.Equal(1, r.GetProperty("segment").GetInt64()));
        var pays = records.Where(r => r.GetProperty("type").GetString() == "McpExchange" && r.TryGetProperty("component", out var c) && c.TryGetProperty("target", out var t) && t.GetString() == "pay").ToList();
        // Each call's records (the gateway may write more than one per exchange) carry its JSON-RPC id.
        Assert.Equal([1, 2, 3, 4], pays.Select(r => r.GetProperty("jsonrpcId").GetInt32()).Distinct().Order());
        Assert.Contains(records, r => r.TryGetProperty("component", out var c) && c.TryGetProperty("target", out var t) && t.GetString() == "refund"
            && r.TryGetProperty("decision", out var d) && d.GetString() == "Deny");
        // The call carried the card number; the SIEM only ever sees the masked record.
        Assert.Contains(gw.Upstream.Requests, r => r.Body.Contains("pay", StringComparison.Ordinal));
        Assert.Empty(AuditCards.FindCardNumbers(lines));
        Assert.Contains(lines, l => l.Contains("\"cardFingerprints\"", StringComparison.Ordinal));

        string metrics = await AdminGet.TextAsync(gw.Gateway.AdminEndpoint, "/metrics");
        Assert.Matches(@"fastmcp_audit_export_records_total [1-9]", metrics);
        Assert.Contains("fastmcp_audit_export_failed_posts_total 0\n", metrics, StringComparison.Ordinal);
        Assert.Contains("fastmcp_audit_export_lag_records ", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_siem_that_is_down_slows_no_call_and_stays_ready()
    {
        await using var siem = new HttpRecordReceiver();
        await siem.Stop();
        await using PolicyGateway gw = await PolicyGateway.StartAsync(
            x => x.RespondJsonAsync("{\"jsonrpc\":\"2.0\",\"id\":" + x.Request.IdJson() + ",\"result\":{}}"),
            [new RuleOptions { Name = "payments", Action = "allow", Methods = ["tools/call"], Names = ["pay"] }],
            options => options.Audit.Export = new AuditExportOptions { Url = siem.Url, FlushMs = 20, BatchRecords = 3, MaxBackoffMs = 50 });
        string token = gw.Token("alice");
        for (int i = 1; i <= 5; i++)
            Assert.Equal(200, (await gw.PostAsync("{\"jsonrpc\":\"2.0\",\"id\":" + i + ",\"method\":\"tools/call\",\"params\":{\"name\":\"pay\",\"arguments\":{}}}", token)).Status);
        string metrics = await AdminGet.TextAsync(gw.Gateway.AdminEndpoint, "/metrics");
        Assert.Matches(@"fastmcp_audit_export_lag_records [1-9]", metrics);
        // The log is durable: the gateway stays ready (AdminGet fails on anything but 200).
        await AdminGet.TextAsync(gw.Gateway.AdminEndpoint, "/readyz");
        siem.Start();
        var lines = await siem.WaitForLinesAsync(6, Limit);
        Assert.Equal(Enumerable.Range(0, 6).Select(i => (long)i), lines.Take(6).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("seq").GetInt64()));
    }
}
