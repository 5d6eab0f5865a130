using System.Globalization;
using System.Text.RegularExpressions;

namespace FastMcp.Gateway.Tests.Support;

/// <summary>
/// A strict check of Prometheus text exposition (0.0.4), for hosts without promtool: every sample belongs to a
/// family declared once by HELP and TYPE before it, names and labels are well formed, no series repeats, values
/// parse, counters are not negative, histogram buckets are cumulative and end with +Inf equal to _count.
/// </summary>
internal static partial class ExpositionFormat
{
    [GeneratedRegex(@"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*=""(?:[^""\\\n]|\\[\\""n])*"")(,[a-zA-Z_][a-zA-Z0-9_]*=""(?:[^""\\\n]|\\[\\""n])*"")*\})? (\S+)$")]
    private static partial Regex Sample();

    public static List<string> Problems(string text)
    {
        var problems = new List<string>();
        var types = new Dictionary<string, string>();
        var helped = new HashSet<string>();
        var seen = new HashSet<string>();
        var bucketRuns = new Dictionary<string, (double Last, double Inf)>();
        var counts = new Dictionary<string, double>();
        if (!text.EndsWith('\n')) problems.Add("does not end with a newline");
        foreach (string line in text.Split('\n'))
        {
            if (line.Length == 0) continue;
            if (line.StartsWith("# HELP ", StringComparison.Ordinal))
            {
                string name = line[7..].Split(' ')[0];
                if (!helped.Add(name)) problems.Add($"HELP repeated for {name}");
                continue;
            }
            if (line.StartsWith("# TYPE ", StringComparison.Ordinal))
            {
                string[] p = line[7..].Split(' ');
                if (p.Length != 2 || p[1] is not ("counter" or "gauge" or "histogram" or "summary" or "untyped")) problems.Add($"bad TYPE line: {line}");
                else if (!types.TryAdd(p[0], p[1])) problems.Add($"TYPE repeated for {p[0]}");
                continue;
            }
            if (line[0] == '#') continue;
            Match m = Sample().Match(line);
            if (!m.Success) { problems.Add($"malformed sample: {line}"); continue; }
            string metric = m.Groups[1].Value;
            string series = line[..line.LastIndexOf(' ')];
            if (!seen.Add(series)) problems.Add($"series repeated: {series}");
            string valueText = m.Groups[5].Value;
            if (!double.TryParse(valueText, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) && valueText is not ("+Inf" or "-Inf" or "NaN"))
                problems.Add($"value does not parse: {line}");
            string family = metric;
            foreach (string suffix in new[] { "_bucket", "_sum", "_count" })
            {
                if (metric.EndsWith(suffix, StringComparison.Ordinal) && types.TryGetValue(metric[..^suffix.Length], out string? t) && t == "histogram")
                    family = metric[..^suffix.Length];
            }
            if (!types.TryGetValue(family, out string? type)) { problems.Add($"sample before its TYPE: {line}"); continue; }
            if (!helped.Contains(family)) problems.Add($"no HELP for {family}");
            if (type == "counter" && value < 0) problems.Add($"negative counter: {line}");
            if (type == "counter" && !family.EndsWith("_total", StringComparison.Ordinal)) problems.Add($"counter not named _total: {family}");
            if (type == "histogram" && metric.EndsWith("_bucket", StringComparison.Ordinal))
            {
                bucketRuns.TryGetValue(family, out var run);
                if (value < run.Last) problems.Add($"histogram buckets not cumulative: {line}");
                bucketRuns[family] = (value, line.Contains("le=\"+Inf\"") ? value : run.Inf);
            }
            if (type == "histogram" && metric.EndsWith("_count", StringComparison.Ordinal)) counts[family] = value;
        }
        foreach ((string family, double count) in counts)
        {
            if (!bucketRuns.TryGetValue(family, out var run) || run.Inf != count) problems.Add($"{family}: +Inf bucket differs from _count");
        }
        return problems;
    }
}
