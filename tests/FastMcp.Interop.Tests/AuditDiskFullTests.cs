using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using FastMcp.Interop.Tests.Harness;

namespace FastMcp.Interop.Tests;

/// <summary>
/// A real full disk under the gateway process: its audit folder is a 1 MiB tmpfs in a private
/// mount namespace (unshare). Filling it must make the gateway fail closed (503, JSON-RPC -32005,
/// nothing forwarded), freeing it must let the gateway recover by itself, and the log must record
/// the outage and still verify.
/// </summary>
[Trait("Category", "E2E")]
public sealed class AuditDiskFullTests : IDisposable
{
    private readonly string _mountPoint = Directory.CreateTempSubdirectory("fastmcp-diskfull-mnt-").FullName;
    private readonly string _copyOut = Directory.CreateTempSubdirectory("fastmcp-diskfull-out-").FullName;
    private readonly CannedMcpUpstream _upstream = new();
    /// <summary>Writes <paramref name="path"/> until the 1 MiB tmpfs is full (ENOSPC); the file stays open for the caller.</summary>
    private static FileStream FillDisk(string path)
    {
        var fill = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 0);
        byte[] block = new byte[64 * 1024];
        try
        {
            for (int i = 0; i < 64; i++) fill.Write(block);
            fill.Dispose();
            Assert.Fail("the 1 MiB tmpfs took 4 MiB: it is not the gateway's audit folder");
        }
        catch (IOException)
        {
            // ENOSPC: the disk is full.
        }
        return fill;
    }

    private static string CallBody(int id, string padding) =>
        "{\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"method\":\"tools/call\",\"params\":{\"name\":\"record_me\",\"arguments\":{\"padding\":\"" + padding + "\"}}}";

    [TmpfsNamespaceFact]
    public async Task A_full_disk_fails_closed_forwards_nothing_and_recovers_by_itself()
    {
        using TmpfsGateway gateway = await TmpfsGateway.StartAsync(_mountPoint, _upstream.Url, _copyOut);
        Uri mcp = gateway.Mcp, readyz = gateway.Readyz;
        string tmpfs = gateway.Tmpfs;
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(20) };
        // Incompressible arguments, so each record needs fresh pages of the tmpfs.
        string padding = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(12_000));
        int id = 0;

        async Task<(HttpStatusCode Status, string Body)> CallAsync()
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, mcp) { Content = new StringContent(CallBody(++id, padding), Encoding.UTF8, "application/json") };
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
            using HttpResponseMessage response = await http.SendAsync(request);
            return (response.StatusCode, await response.Content.ReadAsStringAsync());
        }

        var (okStatus, _) = await CallAsync();
        Assert.Equal(HttpStatusCode.OK, okStatus);
        Assert.Equal(1, _upstream.Received);

        // Fill the disk.
        string filler = Path.Combine(tmpfs, "filler");
        await using (FillDisk(filler)) { }

        // Calls now fail closed. Records still go into the segment's zero-filled reserve (256 KiB, taken before the disk
        // filled: about 20 of these) and a partly used page, durably: nothing is forwarded unrecorded meanwhile.
        int refused = 0;
        for (int attempt = 0; attempt < 48 && refused < 3; attempt++)
        {
            int before = _upstream.Received;
            var (status, body) = await CallAsync();
            if (status == HttpStatusCode.ServiceUnavailable)
            {
                refused++;
                Assert.Contains("-32005", body);
                Assert.Contains($"\"id\":{id}", body);
                Assert.Equal(before, _upstream.Received); // nothing forwarded unrecorded
            }
            else
            {
                Assert.True(refused == 0, $"a call succeeded after the log had failed: {status} {body}");
            }
        }
        Assert.Equal(3, refused);
        int forwardedDuringOutage = _upstream.Received;
        // Readiness says so, with the reason: traffic belongs on another replica while the log cannot be written.
        using (HttpResponseMessage notReady = await http.GetAsync(readyz))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, notReady.StatusCode);
            Assert.Contains("audit log not writable", await notReady.Content.ReadAsStringAsync());
        }

        // Free the space: the gateway recovers by itself.
        File.Delete(filler);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        HttpStatusCode last = HttpStatusCode.ServiceUnavailable;
        while (clock.Elapsed < TimeSpan.FromSeconds(30) && last != HttpStatusCode.OK)
        {
            await Task.Delay(250);
            (last, _) = await CallAsync();
        }
        Assert.Equal(HttpStatusCode.OK, last);
        Assert.Equal(forwardedDuringOutage + 1, _upstream.Received);
        using (HttpResponseMessage ready = await http.GetAsync(readyz))
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);

        // Stop; the script copies the sealed log out of the namespace.
        await gateway.StopAndCopyOutAsync();

        string audit = Path.Combine(_copyOut, "audit");
        var (verifyExit, verifyOut, verifyErr) = await GatewayProcess.RunToolAsync(_copyOut, null, "verify", audit, "--key", Path.Combine(audit, "audit-signing-key.pub.pem"));
        Assert.True(verifyExit == 0, verifyOut + verifyErr);
        var (replayExit, replay, _) = await GatewayProcess.RunToolAsync(_copyOut, null, "replay", audit, "--format", "jsonl");
        Assert.Equal(0, replayExit);
        Assert.Contains("\"type\":\"AuditOutage\"", replay);
        Assert.Contains("\"type\":\"AuditRecovered\"", replay);
        // Every call that reached the upstream has its request record.
        int requestRecords = Regex.Matches(replay, "\"detail\":\"request\"").Count;
        Assert.Equal(_upstream.Received, requestRecords);
    }

    [TmpfsNamespaceFact]
    public async Task A_record_cut_short_by_a_full_disk_is_removed_before_the_gateway_seals_its_segment()
    {
        using TmpfsGateway gateway = await TmpfsGateway.StartAsync(_mountPoint, _upstream.Url, _copyOut);
        Uri mcp = gateway.Mcp, readyz = gateway.Readyz;
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(20) };
        int id = 0;

        async Task<HttpStatusCode> CallAsync(string padding)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, mcp) { Content = new StringContent(CallBody(++id, padding), Encoding.UTF8, "application/json") };
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
            using HttpResponseMessage response = await http.SendAsync(request);
            return response.StatusCode;
        }

        Assert.Equal(HttpStatusCode.OK, await CallAsync("small"));

        // Fill the disk, then give back 128 KiB: less than the next record needs, so its write is cut short
        // (ENOSPC after part of it landed), leaving far more bytes than the outage and stop records that follow.
        string filler = Path.Combine(gateway.Tmpfs, "filler");
        await using (FileStream fill = FillDisk(filler)) fill.SetLength(Math.Max(0, fill.Length - 128 * 1024));
        string large = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(400_000));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, await CallAsync(large));
        Assert.Equal(0 + 1, _upstream.Received);

        // Space is back: the gateway recovers by itself. No call is made after that, so nothing overwrites the
        // leftovers before the stop seals the segment.
        File.Delete(filler);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        HttpStatusCode readiness = HttpStatusCode.ServiceUnavailable;
        while (clock.Elapsed < TimeSpan.FromSeconds(30) && readiness != HttpStatusCode.OK)
        {
            await Task.Delay(250);
            using HttpResponseMessage ready = await http.GetAsync(readyz);
            readiness = ready.StatusCode;
        }
        Assert.Equal(HttpStatusCode.OK, readiness);
        await gateway.StopAndCopyOutAsync();

        string audit = Path.Combine(_copyOut, "audit");
        var (verifyExit, verifyOut, verifyErr) = await GatewayProcess.RunToolAsync(_copyOut, null, "verify", audit, "--key", Path.Combine(audit, "audit-signing-key.pub.pem"));
        Assert.True(verifyExit == 0, verifyOut + verifyErr);
        var (replayExit, replay, _) = await GatewayProcess.RunToolAsync(_copyOut, null, "replay", audit, "--format", "jsonl");
        Assert.Equal(0, replayExit);
        Assert.Contains("\"type\":\"AuditOutage\"", replay);
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

/// <summary>Skips, saying why, when this machine does not let us mount a tmpfs in a private mount namespace.</summary>
public sealed class TmpfsNamespaceFactAttribute : FactAttribute
{
    public TmpfsNamespaceFactAttribute()
    {
        if (!OperatingSystem.IsLinux())
        {
            Skip = "needs Linux mount namespaces";
            return;
        }
        string probe = Directory.CreateTempSubdirectory("fastmcp-diskfull-probe-").FullName;
        try
        {
            var info = new System.Diagnostics.ProcessStartInfo("unshare") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (string a in TmpfsGateway.UnshareFlags()) info.ArgumentList.Add(a);
            foreach (string a in new[] { "sh", "-c", "mount -t tmpfs -o size=64k tmpfs \"$0\" && echo mounted", probe }) info.ArgumentList.Add(a);
            using var process = System.Diagnostics.Process.Start(info)!;
            string stdout = process.StandardOutput.ReadToEnd();
            string stderr = process.StandardError.ReadToEnd();
            process.WaitForExit(20_000);
            if (!stdout.Contains("mounted", StringComparison.Ordinal)) Skip = $"cannot mount a tmpfs in a private mount namespace here (unshare, util-linux): {stderr.Trim()}";
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            Skip = $"unshare (util-linux) is not available: {e.Message}";
        }
        finally
        {
            Directory.Delete(probe, recursive: true);
        }
    }
}
