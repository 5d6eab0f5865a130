using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.RegularExpressions;
using FastMcp.Interop.Tests.Harness;

namespace FastMcp.Interop.Tests;

/// <summary>
/// The disk fills while segments rotate: the gateway process keeps its audit folder on a 1 MiB tmpfs
/// in a private mount namespace with 16 KiB segments, so a few records seal a segment and open the next
/// one. Each round leaves the writer a different sliver of space (so the fault lands at a different write:
/// the records frame, the seal, last-seal, the rename, the checkpoint or the new segment's header), then
/// frees the disk. Every round must end with the gateway serving again by itself, and the log must verify.
/// </summary>
[Trait("Category", "E2E")]
public sealed class AuditRotationDiskFullTests : IDisposable
{
    private readonly string _mountPoint = Directory.CreateTempSubdirectory("fastmcp-rotfull-mnt-").FullName;
    private readonly string _copyOut = Directory.CreateTempSubdirectory("fastmcp-rotfull-out-").FullName;
    private readonly CannedMcpUpstream _upstream = new();

    [TmpfsNamespaceFact]
    public async Task A_disk_that_fills_during_rotation_recovers_by_itself_every_time_and_the_log_verifies()
    {
        // Small segments so that rotation is frequent; an allow-all policy for the anonymous caller.
        string config = Path.Combine(_copyOut, "gateway.json");
        File.WriteAllText(config, """
            {
              "policy": { "defaultAction": "deny", "rules": [ { "name": "allow-all", "action": "allow" } ] },
              "audit": { "maxSegmentBytes": 16384 }
            }
            """);
        using TmpfsGateway gateway = await TmpfsGateway.StartAsync(_mountPoint, _upstream.Url, _copyOut, "--config", config);
        ChildProcess process = gateway.Process;
        Uri mcp = gateway.Mcp, readyz = gateway.Readyz;
        string tmpfs = gateway.Tmpfs;

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(20) };
        // Incompressible arguments: about 4 KB per record, so four or five records fill a segment.
        string padding = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(3_000));
        int id = 0;
        string lastBody = "";
        async Task<HttpStatusCode> CallAsync()
        {
            string body = "{\"jsonrpc\":\"2.0\",\"id\":" + ++id + ",\"method\":\"tools/call\",\"params\":{\"name\":\"record_me\",\"arguments\":{\"padding\":\"" + padding + "\"}}}";
            using var request = new HttpRequestMessage(HttpMethod.Post, mcp) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
            using HttpResponseMessage response = await http.SendAsync(request);
            lastBody = await response.Content.ReadAsStringAsync();
            return response.StatusCode;
        }

        Assert.Equal(HttpStatusCode.OK, await CallAsync());
        // Slivers of free space left to the writer in each round (bytes), so the fault lands at different steps.
        int[] slivers = [0, 1_500, 5_000, 9_000, 14_000, 20_000];
        int outages = 0;
        foreach (int sliver in slivers)
        {
            string filler = Path.Combine(tmpfs, "filler");
            FillDisk(filler);
            if (sliver > 0)
            {
                using var shrink = new FileStream(filler, FileMode.Open, FileAccess.Write);
                shrink.SetLength(Math.Max(0, shrink.Length - sliver));
            }
            // Calls until the log refuses (the sliver is used up somewhere in a rotation); bounded.
            bool refused = false;
            for (int i = 0; i < 40 && !refused; i++)
            {
                HttpStatusCode status = await CallAsync();
                if (status == HttpStatusCode.ServiceUnavailable)
                {
                    // Refused because the log cannot be written: either before forwarding (request record) or,
                    // when the answer cannot be recorded, the answer is withheld. Every forwarded call's request
                    // record is checked at the end.
                    refused = true;
                    Assert.Contains("-32005", lastBody);
                }
                else Assert.Equal(HttpStatusCode.OK, status);
            }
            Assert.True(refused, $"round with {sliver} bytes free: the full disk never refused a call");
            outages++;
            using (HttpResponseMessage notReady = await http.GetAsync(readyz))
                Assert.Equal(HttpStatusCode.ServiceUnavailable, notReady.StatusCode);

            // Free the disk: the gateway must come back by itself within a bounded time.
            File.Delete(filler);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            HttpStatusCode last = HttpStatusCode.ServiceUnavailable;
            while (clock.Elapsed < TimeSpan.FromSeconds(30) && last != HttpStatusCode.OK)
            {
                await Task.Delay(200);
                last = await CallAsync();
            }
            Assert.True(last == HttpStatusCode.OK, $"round with {sliver} bytes free: still {last} 30 s after the disk was freed\n{process.Transcript}");
            // A few more calls so the next round starts in the middle of a segment again.
            for (int i = 0; i < 3; i++) Assert.Equal(HttpStatusCode.OK, await CallAsync());
        }
        using (HttpResponseMessage ready = await http.GetAsync(readyz))
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);

        // The operator's log says so once per outage and once per recovery (not per refused call).
        Assert.Equal(outages, Regex.Matches(process.Transcript, "audit log: cannot be written").Count);
        Assert.Equal(outages, Regex.Matches(process.Transcript, "audit log: writable again").Count);
        await gateway.StopAndCopyOutAsync();

        string copied = Path.Combine(_copyOut, "audit");
        int segments = Directory.GetFiles(copied, "*.seg", SearchOption.AllDirectories).Length;
        Assert.True(segments >= 8, $"only {segments} sealed segments: rotation did not happen often enough to test it");
        var (verifyExit, verifyOut, verifyErr) = await GatewayProcess.RunToolAsync(_copyOut, null, "verify", copied, "--key", Path.Combine(copied, "audit-signing-key.pub.pem"));
        Assert.True(verifyExit == 0, verifyOut + verifyErr);
        var (replayExit, replay, _) = await GatewayProcess.RunToolAsync(_copyOut, null, "replay", copied, "--format", "jsonl");
        Assert.Equal(0, replayExit);
        Assert.True(Regex.Matches(replay, "\"type\":\"AuditOutage\"").Count >= outages, "an outage went unrecorded");
        Assert.True(Regex.Matches(replay, "\"type\":\"AuditRecovered\"").Count >= outages, "a recovery went unrecorded");
        Assert.Equal(_upstream.Received, Regex.Matches(replay, "\"detail\":\"request\"").Count);
    }

    /// <summary>Writes zeros until the tmpfs refuses (ENOSPC).</summary>
    private static void FillDisk(string filler)
    {
        using var fill = new FileStream(filler, FileMode.Create, FileAccess.Write, FileShare.None, 0);
        byte[] block = new byte[4096];
        try
        {
            for (int i = 0; i < 1024; i++) fill.Write(block);
            Assert.Fail("the 1 MiB tmpfs took 4 MiB: it is not the gateway's audit folder");
        }
        catch (IOException)
        {
        }
    }

    public void Dispose()
    {
        _upstream.Dispose();
        foreach (string dir in new[] { _mountPoint, _copyOut })
        {
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }
}
