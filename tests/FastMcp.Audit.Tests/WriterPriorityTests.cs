using System.Globalization;

namespace FastMcp.Audit.Tests;

/// <summary>
/// Issue #14: in Batched durability the writer's flush bursts (hashing, zstd, write, fdatasync) must give way to
/// the socket loops, so its thread runs at a higher nice value; in Strict every response waits for it, so it does not.
/// The tests find the new writer thread among the process's threads, so no other test may start one meanwhile.
/// </summary>
[Collection(WriterThreadCensus.Name)]
public sealed class WriterPriorityTests : IDisposable
{
    private readonly TempAuditDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task The_batched_writer_thread_runs_at_a_lower_priority()
    {
        if (!OperatingSystem.IsLinux()) return;
        var before = WriterNiceValues();
        await using var log = await AuditLog.OpenAsync(_dir.Options(durability: AuditDurability.Batched));
        // The writer lowers itself as it starts, which may be just after OpenAsync returns: wait a bounded while.
        int[] started = [];
        for (int i = 0; i < 100; i++)
        {
            started = WriterNiceValues().Where(kv => !before.ContainsKey(kv.Key)).Select(kv => kv.Value).ToArray();
            if (started is [10]) break;
            await Task.Delay(20);
        }
        Assert.Single(started);
        Assert.Equal(10, started[0]);
    }

    [Fact]
    public async Task The_strict_writer_thread_keeps_the_normal_priority()
    {
        if (!OperatingSystem.IsLinux()) return;
        var before = WriterNiceValues();
        await using var log = await AuditLog.OpenAsync(_dir.Options(durability: AuditDurability.Strict));
        var after = WriterNiceValues();
        var started = after.Where(kv => !before.ContainsKey(kv.Key)).Select(kv => kv.Value).ToArray();
        Assert.Single(started);
        Assert.Equal(0, started[0]);
    }

    /// <summary>Thread id → nice value of this process's audit writer threads (comm is cut to 15 bytes).</summary>
    private static Dictionary<int, int> WriterNiceValues()
    {
        var found = new Dictionary<int, int>();
        foreach (var task in Directory.GetDirectories("/proc/self/task"))
        {
            string stat;
            try { stat = File.ReadAllText(Path.Combine(task, "stat")); }
            catch (IOException) { continue; }
            int open = stat.IndexOf('('), close = stat.LastIndexOf(')');
            if (!stat[(open + 1)..close].StartsWith("fastmcp-audit-w", StringComparison.Ordinal)) continue;
            // After "comm)": state is field 3, nice is field 19.
            var fields = stat[(close + 2)..].Split(' ');
            found[int.Parse(Path.GetFileName(task), CultureInfo.InvariantCulture)] = int.Parse(fields[16], CultureInfo.InvariantCulture);
        }
        return found;
    }
}

/// <summary>Tests that count the process's audit writer threads run alone (other test classes open logs in parallel).</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class WriterThreadCensus
{
    public const string Name = "audit writer thread census";
}
