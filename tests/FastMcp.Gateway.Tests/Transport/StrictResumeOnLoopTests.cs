using System.Diagnostics;
using System.Net;
using FastMcp.Audit;
using FastMcp.Audit.Tests;
using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Hosting;
using FastMcp.Gateway.Stages;
using FastMcp.Gateway.Tests.Support;

namespace FastMcp.Gateway.Tests.Transport;

/// <summary>
/// Strict audit on the gateway's own socket loops (issue #14): once an exchange's record is durable, the exchange goes
/// on on the loop that owns its connection (posted there by the audit writer), not on a thread-pool worker. Real
/// sockets, the in-process gateway with strict audit over a file system whose flush the test can hold or fail, and a
/// scripted upstream that echoes each call.
/// </summary>
public sealed class StrictResumeOnLoopTests : IAsyncLifetime
{
    private readonly TempAuditDirectory _dir = new();
    private readonly FaultyFileSystem _disk = new();
    private ScriptedUpstream _upstream = null!;
    private AuditLog _log = null!;
    private GatewayHost _host = null!;

    public async Task InitializeAsync()
    {
        _upstream = new ScriptedUpstream(UpstreamScripts.Echo);
        var options = new GatewayOptions { Listen = ["127.0.0.1:0"], Admin = new AdminOptions { Listen = "127.0.0.1:0" } };
        options.Upstream.Url = _upstream.Url;
        options.Upstream.ResponseTimeoutMs = 20_000;
        options.Timeouts.ShutdownMs = 5_000;
        ConfigurationLoader.Validate(options);
        _log = await AuditLog.OpenAsync(_dir.Options(), _disk);
        var stages = new GatewayStages { Audit = new AuditRecording(_log, _upstream.Url) };
        _host = new GatewayHost(options, UpstreamUrl.Parse(options.Upstream.Url, "upstream.url"), stages);
    }

    public async Task DisposeAsync()
    {
        _disk.FlushGate = null;
        _disk.Full = false;
        await _host.DisposeAsync();
        await _log.DisposeAsync();
        await _upstream.DisposeAsync();
        _dir.Dispose();
    }

    private IPEndPoint Endpoint => _host.Endpoints[0];
    private IPEndPoint Admin => _host.AdminEndpoint!;

    private string Call(int id, string message)
    {
        string json = "{\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"method\":\"tools/call\",\"params\":{\"name\":\"echo\",\"arguments\":{\"message\":\"" + message + "\"}}}";
        return $"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{Endpoint.Port}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\n" +
            $"Content-Length: {System.Text.Encoding.UTF8.GetByteCount(json)}\r\n\r\n{json}";
    }

    private Task<long> MetricAsync(string series) => AdminGet.MetricAsync(Admin, series);

    [Fact]
    public async Task Strict_exchanges_on_many_connections_over_both_loops_all_get_their_answers_and_go_on_on_their_loops()
    {
        // Connections go to the loops in turn: 32 of them land on every loop.
        const int connections = 32, calls = 10;
        var clients = new RawClient[connections];
        for (int c = 0; c < connections; c++) clients[c] = await RawClient.ConnectAsync(Endpoint);
        try
        {
            var runs = new Task[connections];
            for (int c = 0; c < connections; c++)
            {
                RawClient client = clients[c];
                int id = c;
                runs[c] = Task.Run(async () =>
                {
                    for (int i = 0; i < calls; i++)
                    {
                        string message = $"m-{id}-{i}";
                        await client.SendAsync(Call(i, message));
                        RawResponse response = await client.ReadResponseAsync(message);
                        Assert.Equal(200, response.Status);
                        Assert.Contains(message, response.Body, StringComparison.Ordinal);
                    }
                });
            }
            await Task.WhenAll(runs).WaitAsync(TimeSpan.FromSeconds(120));
        }
        finally
        {
            foreach (RawClient client in clients) client.Dispose();
        }

        // Two durable waits per exchange (request record, response record), every one resumed on its connection's loop.
        Assert.Equal(2 * connections * calls, await MetricAsync("fastmcp_audit_strict_resumes_total{on=\"loop\"}"));
        Assert.Equal(0, await MetricAsync("fastmcp_audit_strict_resumes_total{on=\"pool\"}"));
        Assert.Equal(connections * calls, _upstream.Requests.Count);
    }

    [Fact]
    public async Task A_failed_fdatasync_refuses_every_exchange_of_its_group_whichever_loop_owns_its_connection()
    {
        using var gate = new ManualResetEventSlim(false);
        _disk.FlushGate = gate;
        const int connections = 9;
        var clients = new RawClient[connections];
        for (int c = 0; c < connections; c++) clients[c] = await RawClient.ConnectAsync(Endpoint);
        try
        {
            // The first request record holds the writer in its flush; the others queue behind it as one group.
            await clients[0].SendAsync(Call(0, "first"));
            Assert.True(_disk.FlushWaiting.Wait(TimeSpan.FromSeconds(20)));
            for (int c = 1; c < connections; c++) await clients[c].SendAsync(Call(c, "queued-" + c));
            await Until.HoldsAsync(() => _log.QueueDepth >= connections, "every request record queued");
            _disk.FlushGate = null;
            _disk.Full = true;
            gate.Set();

            for (int c = 0; c < connections; c++)
            {
                RawResponse refused = await clients[c].ReadResponseAsync("the refusal");
                Assert.Equal(503, refused.Status);
                Assert.Contains("audit log unavailable", refused.Body, StringComparison.Ordinal);
            }
            Assert.Empty(_upstream.Requests);
            Assert.False(_log.IsWritable);
            Assert.Equal(0, await MetricAsync("fastmcp_audit_strict_resumes_total{on=\"loop\"}"));
        }
        finally
        {
            foreach (RawClient client in clients) client.Dispose();
        }
    }

    [Fact]
    public async Task A_connection_closed_while_its_request_record_is_made_durable_ends_once_and_the_loops_go_on()
    {
        using var gate = new ManualResetEventSlim(false);
        _disk.FlushGate = gate;
        using (RawClient first = await RawClient.ConnectAsync(Endpoint))
        {
            RawClient leaving = await RawClient.ConnectAsync(Endpoint);
            await first.SendAsync(Call(1, "stays"));
            Assert.True(_disk.FlushWaiting.Wait(TimeSpan.FromSeconds(20)));
            await leaving.SendAsync(Call(2, "leaves"));
            await Until.HoldsAsync(() => _log.QueueDepth >= 2, "the leaving client's request record queued");
            // Gone while its record waits for the flush: its exchange resumes on its loop and finds the socket closed.
            leaving.Dispose();
            _disk.FlushGate = null;
            gate.Set();

            RawResponse answered = await first.ReadResponseAsync("the staying client's answer");
            Assert.Equal(200, answered.Status);
            Assert.Contains("stays", answered.Body, StringComparison.Ordinal);
        }

        // Both connections end (nothing waits for ever), and the loops and the log go on serving.
        await Until.HoldsAsync(async () => await MetricAsync("fastmcp_connections_open") == 0, "every client connection closed");
        using (RawClient after = await RawClient.ConnectAsync(Endpoint))
        {
            await after.SendAsync(Call(3, "after"));
            RawResponse response = await after.ReadResponseAsync("an answer after the close");
            Assert.Equal(200, response.Status);
        }
        await Until.HoldsAsync(async () => await MetricAsync("fastmcp_connections_open") == 0, "the last connection closed");
        Assert.Equal(0, _log.QueueDepth);
        Assert.True(_log.IsWritable);
        // Each durable wait resumed exactly once, on a loop: the resumes match the records the exchanges waited for.
        long resumed = await MetricAsync("fastmcp_audit_strict_resumes_total{on=\"loop\"}");
        Assert.Equal(0, await MetricAsync("fastmcp_audit_strict_resumes_total{on=\"pool\"}"));
        long waited = _log.Statistics.RecordsSynced;
        Assert.InRange(resumed, 5, waited);
    }
}
