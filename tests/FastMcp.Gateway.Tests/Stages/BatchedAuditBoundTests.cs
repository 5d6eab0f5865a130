using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using FastMcp.Audit;
using FastMcp.Audit.Tests;
using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Hosting;
using FastMcp.Gateway.Stages;
using FastMcp.Gateway.Tests.Support;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// Batched audit through the real gateway with a writer that cannot keep up: the in-process gateway on real sockets,
/// its audit log on a file system whose fdatasync the test holds (a stuck disk), and a scripted upstream that echoes
/// each call. Load beyond audit.batchedMaxPendingBytes must keep what is answered and not yet durable at the bound,
/// refuse the excess with 503 as an audit outage does (never forwarding a request unrecorded), and flow again once the
/// writer drains, leaving a log that verifies with every answered exchange in it.
/// </summary>
public sealed class BatchedAuditBoundTests : IAsyncLifetime
{
    private const int Limit = 32 * 1024;
    // Every record here is well under this (asserted on the log below): "one record over the bound".
    private const int OneRecord = 4096;
    private readonly TempAuditDirectory _dir = new();
    private readonly FaultyFileSystem _disk = new();
    private readonly ManualResetEventSlim _gate = new(false);
    private readonly ConcurrentQueue<string> _problems = new();
    private ScriptedUpstream _upstream = null!;
    private AuditLog _log = null!;
    private GatewayHost _host = null!;
    private bool _stopped;

    public async Task InitializeAsync()
    {
        _upstream = new ScriptedUpstream(UpstreamScripts.Echo);
        var options = new GatewayOptions { Listen = ["127.0.0.1:0"], Admin = new AdminOptions { Listen = "127.0.0.1:0" } };
        options.Upstream.Url = _upstream.Url;
        options.Upstream.ResponseTimeoutMs = 20_000;
        options.Timeouts.ShutdownMs = 5_000;
        ConfigurationLoader.Validate(options);
        AuditOptions audit = _dir.Options(durability: AuditDurability.Batched);
        audit.BatchedFlushBytes = 4096;
        audit.BatchedMaxPendingBytes = Limit;
        audit.BatchedMaxPendingWait = TimeSpan.FromMilliseconds(500);
        audit.OnProblem = _problems.Enqueue;
        _log = await AuditLog.OpenAsync(audit, _disk);
        var stages = new GatewayStages { Audit = new AuditRecording(_log, _upstream.Url) };
        _host = new GatewayHost(options, UpstreamUrl.Parse(options.Upstream.Url, "upstream.url"), stages);
    }

    public async Task DisposeAsync()
    {
        LetWriterGo();
        await StopAsync();
        await _upstream.DisposeAsync();
        _dir.Dispose();
    }

    private async Task StopAsync()
    {
        if (_stopped) return;
        _stopped = true;
        await _host.DisposeAsync();
        await _log.DisposeAsync();
    }

    private void LetWriterGo()
    {
        _disk.FlushGate = null;
        _gate.Set();
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
    public async Task Load_past_the_bound_with_a_stuck_writer_is_refused_with_503_the_queue_stays_bounded_and_all_flows_again_after()
    {
        var answered = new ConcurrentBag<string>();
        var refused = new ConcurrentBag<string>();
        using (RawClient first = await RawClient.ConnectAsync(Endpoint))
        {
            // The first exchange's records take the writer into its fdatasync, where the disk holds it.
            _disk.FlushGate = _gate;
            await first.SendAsync(Call(0, "held"));
            Assert.Equal(200, (await first.ReadResponseAsync("the first answer")).Status);
            answered.Add("held");
            Assert.True(_disk.FlushWaiting.Wait(TimeSpan.FromSeconds(20)), "the writer never reached its flush");
        }

        // Far more than the bound holds: 24 connections, 5 calls each, while the writer stays held.
        const int connections = 24, calls = 5;
        long peak = 0;
        using var sampling = new CancellationTokenSource();
        Task sampler = Task.Run(async () =>
        {
            while (!sampling.IsCancellationRequested)
            {
                long now = _log.PendingBytes;
                if (now > Volatile.Read(ref peak)) Volatile.Write(ref peak, now);
                await Task.Delay(1);
            }
        });
        var runs = new Task[connections];
        for (int c = 0; c < connections; c++)
        {
            int conn = c;
            runs[c] = Task.Run(async () =>
            {
                using RawClient client = await RawClient.ConnectAsync(Endpoint);
                for (int i = 0; i < calls; i++)
                {
                    string message = $"m-{conn}-{i}";
                    await client.SendAsync(Call(i + 1, message));
                    RawResponse response = await client.ReadResponseAsync(message);
                    if (response.Status == 200)
                    {
                        Assert.Contains(message, response.Body, StringComparison.Ordinal);
                        answered.Add(message);
                    }
                    else
                    {
                        Assert.Equal(503, response.Status);
                        Assert.Contains("audit log unavailable", response.Body, StringComparison.Ordinal);
                        refused.Add(message);
                    }
                }
            });
        }
        await Task.WhenAll(runs).WaitAsync(TimeSpan.FromSeconds(120));
        long gauge = await MetricAsync("fastmcp_audit_pending_bytes");
        sampling.Cancel();
        await sampler;

        // (a) What is answered and not yet durable stayed at the bound (one record over it at most), gauge and all.
        Assert.InRange(Volatile.Read(ref peak), Limit, Limit + OneRecord);
        Assert.InRange(gauge, Limit, Limit + OneRecord);
        Assert.Equal(Limit, await MetricAsync("fastmcp_audit_pending_bytes_limit"));
        // (b) The excess was refused with 503 and counted: each refusal is one append refused at the bound.
        Assert.NotEmpty(refused);
        Assert.Equal(connections * calls, answered.Count - 1 + refused.Count);
        Assert.Equal(refused.Count, await MetricAsync("fastmcp_audit_pending_refused_total"));
        Assert.Equal(refused.Count, await MetricAsync("fastmcp_audit_unavailable_total"));
        Assert.True(await MetricAsync("fastmcp_audit_pending_waits_total") >= refused.Count);
        Assert.True(_log.IsWritable);
        Assert.Single(_problems, p => p.Contains("reached audit.batchedMaxPendingBytes", StringComparison.Ordinal));

        // (c) The writer drains; exchanges flow again.
        LetWriterGo();
        await Until.HoldsAsync(() => _log.PendingBytes < Limit / 2, "the queue drained", seconds: 30);
        using (RawClient after = await RawClient.ConnectAsync(Endpoint))
        {
            for (int i = 0; i < 5; i++)
            {
                string message = "after-" + i;
                await after.SendAsync(Call(i, message));
                RawResponse response = await after.ReadResponseAsync(message);
                Assert.Equal(200, response.Status);
                answered.Add(message);
            }
        }
        await Until.HoldsAsync(() => _problems.Any(p => p.Contains("below half of audit.batchedMaxPendingBytes again", StringComparison.Ordinal)), "the episode's end said", seconds: 30);
        string[] upstreamGot = [.. _upstream.Requests.Select(r => r.Body)];
        await StopAsync();

        var verifyOut = new StringWriter();
        var verifyErr = new StringWriter();
        int verified = await VerifyCommand.RunAsync([_dir.Segments, "--key", _dir.PublicKey], verifyOut, verifyErr);
        Assert.True(verified == 0, verifyOut + verifyErr.ToString());
        Assert.Contains("VALID", verifyOut.ToString(), StringComparison.Ordinal);
        var replayOut = new StringWriter();
        Assert.Equal(0, await ReplayCommand.RunAsync([_dir.Segments, "--format", "jsonl", "--payloads"], replayOut, new StringWriter()));
        string[] records = replayOut.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.All(records, r => Assert.True(r.Length < OneRecord, "a record longer than the test's one-record allowance"));
        string[] requests = [.. records.Where(r => r.Contains("\"detail\":\"request\"", StringComparison.Ordinal))];
        string[] responses = [.. records.Where(r => r.Contains("\"detail\":\"response\"", StringComparison.Ordinal))];
        // Every answered exchange is on record, request and response (no message is a part of another).
        foreach (string message in answered)
        {
            Assert.Contains(requests, r => r.Contains(message, StringComparison.Ordinal));
            Assert.Contains(responses, r => r.Contains(message, StringComparison.Ordinal));
        }
        // Nothing reached the upstream without its request record.
        foreach (string body in upstreamGot)
        {
            string message = body[(body.IndexOf("\"message\":\"", StringComparison.Ordinal) + 11)..];
            message = message[..message.IndexOf('"', StringComparison.Ordinal)];
            Assert.Contains(requests, r => r.Contains(message, StringComparison.Ordinal));
        }
        // The episode is recorded as an outage is.
        Assert.Contains(records, r => r.Contains("\"type\":\"AuditOutage\"", StringComparison.Ordinal) && r.Contains($"reached audit.batchedMaxPendingBytes ({Limit} bytes)", StringComparison.Ordinal));
        Assert.Contains(records, r => r.Contains("\"type\":\"AuditRecovered\"", StringComparison.Ordinal) && r.Contains($"{refused.Count} appends refused", StringComparison.Ordinal));
    }
}
