using System.Globalization;
using System.Text;
using System.Text.Json;

namespace FastMcp.Load;

/// <summary>CPU a watched process used during the measured window.</summary>
internal readonly record struct CpuUsage(int Pid, double Seconds);

/// <summary>The merged result of one run, printed for people and written as JSON for scripts.</summary>
internal sealed class LoadReport(LoadOptions options, ConnectionStats total, double measuredSeconds, CpuUsage[] targets, double loadgenCpuSeconds, long loadgenAllocatedBytes)
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public double RequestsPerSecond => total.Completed / measuredSeconds;

    private double Ms(double percentile) =>
        total.Completed == 0 ? 0 : total.Latency.GetValueAtPercentile(percentile) / 1000.0;

    private double MaxMs => total.Completed == 0 ? 0 : HdrHistogram.HistogramExtensions.GetMaxValue(total.Latency) / 1000.0;

    private double MicrosecondsPerRequest(double cpuSeconds) => total.Completed == 0 ? 0 : cpuSeconds * 1e6 / total.Completed;

    private double AllocatedPerRequest => total.Completed == 0 ? 0 : loadgenAllocatedBytes / (double)total.Completed;

    public string ToText()
    {
        var text = new StringBuilder();
        var mode = options.OpenLoop
            ? string.Create(Invariant, $"open loop at {options.Rate:0.#} req/s (latency from intended send time)")
            : "closed loop";
        text.Append(Invariant, $"target    {options.Label}  ({options.Target.Text})\n");
        text.Append(Invariant, $"workload  scenario {options.Scenario.Name}, {mode}, {options.Connections} connections, {options.DurationSeconds:0.##} s after {options.WarmupSeconds:0.##} s warm-up\n");
        text.Append(Invariant, $"requests  {total.Completed} in {measuredSeconds:0.00} s = {RequestsPerSecond:0.0} req/s\n");
        text.Append(Invariant, $"outcomes  ok {total.Ok}, denied {total.Denied} of {total.DenyCalls} deny-policy calls, errors {total.Errors} (http {total.HttpErrors}, rpc {total.RpcErrors}, protocol {total.ProtocolErrors}, connection {total.ConnectErrors}, timeout {total.Timeouts}), reconnects {total.Reconnects}\n");
        if (options.Scenario.Name is "cards")
        {
            text.Append(Invariant, $"cards     {total.UnmaskedCards} of {total.Completed} answers carried a test card number unmasked\n");
        }

        if (total.SseNotifications > 0)
        {
            text.Append(Invariant, $"sse       {total.SseNotifications} notifications received before final responses\n");
        }

        text.Append(Invariant, $"latency   p50 {Ms(50):0.000} ms  p90 {Ms(90):0.000} ms  p99 {Ms(99):0.000} ms  p99.9 {Ms(99.9):0.000} ms  max {MaxMs:0.000} ms\n");
        foreach (var cpu in targets)
        {
            text.Append(Invariant, $"cpu       pid {cpu.Pid}: {MicrosecondsPerRequest(cpu.Seconds):0.0} µs/request, {cpu.Seconds / measuredSeconds:0.00} cores\n");
        }

        text.Append(Invariant, $"loadgen   {MicrosecondsPerRequest(loadgenCpuSeconds):0.0} µs/request, {loadgenCpuSeconds / measuredSeconds:0.00} cores, {AllocatedPerRequest:0} B allocated/request\n");
        if (total.LastError is not null)
        {
            text.Append(Invariant, $"error     first seen: {total.LastError}\n");
        }

        return text.ToString();
    }

    public void WriteJson(Stream stream)
    {
        using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = false });
        json.WriteStartObject();
        json.WriteString("label", options.Label);
        json.WriteString("url", options.Target.Text);
        json.WriteString("scenario", options.Scenario.Name);
        json.WriteString("mode", options.OpenLoop ? "open" : "closed");
        json.WriteNumber("rate", options.Rate);
        json.WriteNumber("connections", options.Connections);
        json.WriteNumber("duration_s", Math.Round(measuredSeconds, 3));
        json.WriteNumber("warmup_s", options.WarmupSeconds);
        json.WriteNumber("requests", total.Completed);
        json.WriteNumber("rps", Math.Round(RequestsPerSecond, 1));
        json.WriteNumber("ok", total.Ok);
        json.WriteNumber("deny_calls", total.DenyCalls);
        json.WriteNumber("denied", total.Denied);
        json.WriteNumber("errors", total.Errors);
        json.WriteStartObject("error_kinds");
        json.WriteNumber("http", total.HttpErrors);
        json.WriteNumber("rpc", total.RpcErrors);
        json.WriteNumber("protocol", total.ProtocolErrors);
        json.WriteNumber("connection", total.ConnectErrors);
        json.WriteNumber("timeout", total.Timeouts);
        json.WriteEndObject();
        json.WriteNumber("reconnects", total.Reconnects);
        json.WriteNumber("unmasked_cards", total.UnmaskedCards);
        json.WriteNumber("sse_notifications", total.SseNotifications);
        json.WriteStartObject("latency_ms");
        json.WriteNumber("p50", Ms(50));
        json.WriteNumber("p90", Ms(90));
        json.WriteNumber("p99", Ms(99));
        json.WriteNumber("p999", Ms(99.9));
        json.WriteNumber("max", MaxMs);
        json.WriteEndObject();
        json.WriteStartArray("cpu");
        foreach (var cpu in targets)
        {
            json.WriteStartObject();
            json.WriteNumber("pid", cpu.Pid);
            json.WriteNumber("seconds", Math.Round(cpu.Seconds, 3));
            json.WriteNumber("us_per_request", Math.Round(MicrosecondsPerRequest(cpu.Seconds), 2));
            json.WriteNumber("cores", Math.Round(cpu.Seconds / measuredSeconds, 3));
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteNumber("loadgen_cpu_cores", Math.Round(loadgenCpuSeconds / measuredSeconds, 3));
        json.WriteNumber("loadgen_bytes_per_request", Math.Round(AllocatedPerRequest, 1));
        if (total.LastError is not null)
        {
            json.WriteString("first_error", total.LastError);
        }

        json.WriteEndObject();
    }
}
