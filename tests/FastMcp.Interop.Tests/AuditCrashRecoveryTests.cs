using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using FastMcp.Interop.Tests.Harness;

namespace FastMcp.Interop.Tests;

/// <summary>
/// kill -9 of the gateway under load, then a restart on the same audit folder: the chain still
/// verifies (the torn tail is recovered, not reported as tampering) and every response a client
/// received has its audit record. The open segment a kill leaves is preallocated (a zero-filled tail).
/// </summary>
[Trait("Category", "E2E")]
public sealed class AuditCrashRecoveryTests : IDisposable
{
    private readonly string _auditDir = Directory.CreateTempSubdirectory("fastmcp-crash-audit-").FullName;
    private readonly CannedMcpUpstream _upstream = new();
    private Uri _upstreamUrl => _upstream.Url;

    [Fact]
    public async Task After_kill_9_under_load_the_chain_verifies_and_every_answered_call_is_recorded()
    {
        var answered = new ConcurrentBag<int>();
        using (GatewayProcess first = await GatewayProcess.StartAsync(_upstreamUrl, "--audit-dir", _auditDir))
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
            int next = 0;
            var load = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
            {
                var clock = Stopwatch.StartNew();
                while (clock.Elapsed < TimeSpan.FromSeconds(20))
                {
                    int id = Interlocked.Increment(ref next);
                    if (id > 2_000) return;
                    try
                    {
                        using var content = new StringContent("{\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"method\":\"tools/call\",\"params\":{\"name\":\"echo\",\"arguments\":{}}}", Encoding.UTF8, "application/json");
                        using HttpResponseMessage response = await http.PostAsync(first.McpUrl, content);
                        string text = await response.Content.ReadAsStringAsync();
                        if (response.StatusCode == HttpStatusCode.OK && text.Contains("\"result\"")) answered.Add(id);
                    }
                    catch (Exception)
                    {
                        return; // the gateway was killed
                    }
                }
            })).ToArray();
            var wait = Stopwatch.StartNew();
            while (answered.Count < 150 && wait.Elapsed < TimeSpan.FromSeconds(15)) await Task.Delay(20);
            first.Process.Signal(9);
            await first.WaitForExitAsync(TimeSpan.FromSeconds(10));
            await Task.WhenAll(load);
        }
        Assert.True(answered.Count >= 10, $"too few calls answered before the kill ({answered.Count})");
        // The killed writer's segment is preallocated (256 KiB with its header, then 4 MiB steps): zero-filled past its last
        // frame (recovery must read that as its end).
        string open = Assert.Single(Directory.GetFiles(_auditDir, "*.open", SearchOption.AllDirectories));
        byte[] openBytes = File.ReadAllBytes(open);
        Assert.True(openBytes.Length >= 256 * 1024 && openBytes[^1] == 0, $"the open segment is not zero-filled ahead ({openBytes.Length} bytes)");

        // Restart on the same folder: the torn segment is recovered and the chain goes on.
        using (GatewayProcess second = await GatewayProcess.StartAsync(_upstreamUrl, "--audit-dir", _auditDir))
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
            using var content = new StringContent("{\"jsonrpc\":\"2.0\",\"id\":999999,\"method\":\"tools/call\",\"params\":{\"name\":\"echo\",\"arguments\":{}}}", Encoding.UTF8, "application/json");
            using HttpResponseMessage response = await http.PostAsync(second.McpUrl, content);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            second.SendSigterm();
            Assert.Equal(0, await second.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        }

        (int verifyExit, string verifyOut) = await RunGatewayCommandAsync("verify", _auditDir, "--key", Path.Combine(_auditDir, "audit-signing-key.pub.pem"));
        Assert.True(verifyExit == 0, verifyOut);

        (int replayExit, string jsonl) = await RunGatewayCommandAsync("replay", _auditDir, "--format", "jsonl");
        Assert.Equal(0, replayExit);
        var recordedResponses = new HashSet<int>();
        foreach (string line in jsonl.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (!line.StartsWith('{')) continue; // stderr notes of the replay command
            using var record = JsonDocument.Parse(line);
            JsonElement r = record.RootElement;
            if (r.TryGetProperty("detail", out JsonElement detail) && detail.GetString() == "response"
                && r.TryGetProperty("jsonrpcId", out JsonElement id) && id.ValueKind == JsonValueKind.Number)
                recordedResponses.Add(id.GetInt32());
        }
        int[] missing = answered.Where(id => !recordedResponses.Contains(id)).ToArray();
        Assert.True(missing.Length == 0, $"{missing.Length} answered calls have no response record, e.g. {string.Join(",", missing.Take(5))}");
        Assert.Contains(999999, recordedResponses);
    }

    private static async Task<(int Exit, string Output)> RunGatewayCommandAsync(params string[] args)
    {
        var (file, prefix, _) = GatewayProcess.Locate();
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string p in prefix) info.ArgumentList.Add(p);
        foreach (string a in args) info.ArgumentList.Add(a);
        using Process process = Process.Start(info)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout + await stderr);
    }

    public void Dispose()
    {
        _upstream.Dispose();
        try { Directory.Delete(_auditDir, recursive: true); } catch (IOException) { }
    }
}
