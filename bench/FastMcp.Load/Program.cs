using System.Diagnostics;
using FastMcp.Load;

// fastmcp-load: an MCP-aware HTTP load generator (closed loop or coordinated-omission-corrected open loop).
var options = LoadOptions.TryParse(args, out var problem);
if (options is null)
{
    if (!string.IsNullOrEmpty(problem))
    {
        Console.Error.WriteLine(problem);
    }

    Console.Error.WriteLine(LoadOptions.Usage);
    return string.IsNullOrEmpty(problem) ? 0 : 2;
}

var connections = new LoadConnection[options.Connections];
for (var i = 0; i < connections.Length; i++)
{
    connections[i] = new LoadConnection(i, options);
}

// Every connection is open and initialized before the clock starts.
using (var opening = new CancellationTokenSource(TimeSpan.FromSeconds(Math.Max(5, options.TimeoutSeconds))))
{
    var opens = new Task[connections.Length];
    for (var i = 0; i < connections.Length; i++)
    {
        opens[i] = connections[i].OpenAsync(opening.Token);
    }

    try
    {
        await Task.WhenAll(opens);
    }
    catch (Exception ex)
    {
        Console.Error.WriteLine($"could not open {options.Connections} MCP connections to {options.Target.Text}: {ex.Message}");
        foreach (var connection in connections)
        {
            connection.Close();
        }

        return 1;
    }
}

var clock = new RunClock(options.WarmupSeconds, options.DurationSeconds);
using var hardStop = new CancellationTokenSource();
var drives = new Task[connections.Length];
for (var i = 0; i < connections.Length; i++)
{
    var connection = connections[i];
    drives[i] = Task.Run(() => connection.DriveAsync(clock, hardStop.Token));
}

await Task.Delay(clock.Until(clock.MeasureStart));
var cpuBefore = ReadCpu(options.Pids);
var selfBefore = ProcessCpu.TryReadSeconds(Environment.ProcessId) ?? 0;
var allocatedBefore = GC.GetTotalAllocatedBytes(precise: false);
var measuredFrom = Stopwatch.GetTimestamp();
await Task.Delay(clock.Until(clock.MeasureEnd));
var cpuAfter = ReadCpu(options.Pids);
var selfAfter = ProcessCpu.TryReadSeconds(Environment.ProcessId) ?? 0;
var allocated = GC.GetTotalAllocatedBytes(precise: false) - allocatedBefore;
var measuredSeconds = (Stopwatch.GetTimestamp() - measuredFrom) / (double)Stopwatch.Frequency;

// In-flight requests get one timeout to finish (they are outside the window and not counted).
hardStop.CancelAfter(TimeSpan.FromSeconds(Math.Min(options.TimeoutSeconds, 5)));
await Task.WhenAll(drives);

var total = new ConnectionStats();
foreach (var connection in connections)
{
    total.Add(connection.Stats);
}

var usage = new CpuUsage[options.Pids.Length];
for (var i = 0; i < usage.Length; i++)
{
    usage[i] = new CpuUsage(options.Pids[i], cpuAfter[i] - cpuBefore[i]);
}

var report = new LoadReport(options, total, measuredSeconds, usage, selfAfter - selfBefore, allocated);
Console.Write(report.ToText());
if (options.JsonPath is not null)
{
    using var file = File.Create(options.JsonPath);
    report.WriteJson(file);
}

return total.Completed > 0 ? 0 : 1;

static double[] ReadCpu(int[] pids)
{
    var seconds = new double[pids.Length];
    for (var i = 0; i < pids.Length; i++)
    {
        seconds[i] = ProcessCpu.TryReadSeconds(pids[i]) ?? double.NaN;
    }

    return seconds;
}
