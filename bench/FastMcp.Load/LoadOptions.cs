using System.Globalization;

namespace FastMcp.Load;

/// <summary>Command-line settings of one load run.</summary>
internal sealed class LoadOptions
{
    public const string Usage = """
        usage: fastmcp-load --url http://HOST:PORT/mcp [options]
          --scenario NAME     echo | cards | stream | mixed (default echo)
          --connections N     keep-alive connections, each initialized once (default 32)
          --duration SECONDS  measured time (default 10)
          --warmup SECONDS    unmeasured time before it (default 2)
          --rate R            open loop: R requests/s in total, latency measured from each request's
                              intended send time (coordinated-omission corrected, as wrk2);
                              without it: closed loop, each connection sends as soon as answered
          --timeout SECONDS   per-request timeout (default 10)
          --pid PID[,PID]     processes whose CPU time (utime+stime) per request to report
          --label TEXT        name of the target in the report
          --json FILE         also write the result as one JSON object to FILE
          --ca FILE           https: PEM CA certificate(s) the target's certificate must chain to
                              (default: the system CA bundle). TLS 1.2+, ALPN http/1.1.
        """;

    public required TargetUrl Target { get; init; }
    public required Scenario Scenario { get; init; }
    public int Connections { get; init; } = 32;
    public double DurationSeconds { get; init; } = 10;
    public double WarmupSeconds { get; init; } = 2;
    public double Rate { get; init; }
    public double TimeoutSeconds { get; init; } = 10;
    public int[] Pids { get; init; } = [];
    public string Label { get; init; } = "";
    public string? JsonPath { get; init; }
    public string? CaFile { get; init; }

    public bool OpenLoop => Rate > 0;

    public static LoadOptions? TryParse(string[] args, out string? problem)
    {
        problem = null;
        string? url = null;
        var scenario = "echo";
        int connections = 32;
        double duration = 10, warmup = 2, rate = 0, timeout = 10;
        var pids = new List<int>();
        string label = "";
        string? json = null;
        string? ca = null;
        for (var i = 0; i < args.Length; i++)
        {
            var name = args[i];
            if (name is "-h" or "--help")
            {
                problem = "";
                return null;
            }

            if (i + 1 >= args.Length)
            {
                problem = $"{name} needs a value";
                return null;
            }

            var value = args[++i];
            var ok = true;
            switch (name)
            {
                case "--url": url = value; break;
                case "--scenario": scenario = value; break;
                case "--connections": ok = int.TryParse(value, CultureInfo.InvariantCulture, out connections) && connections > 0; break;
                case "--duration": ok = TryParseSeconds(value, out duration) && duration > 0; break;
                case "--warmup": ok = TryParseSeconds(value, out warmup) && warmup >= 0; break;
                case "--rate": ok = double.TryParse(value, CultureInfo.InvariantCulture, out rate) && rate >= 0; break;
                case "--timeout": ok = TryParseSeconds(value, out timeout) && timeout > 0; break;
                case "--label": label = value; break;
                case "--json": json = value; break;
                case "--ca": ca = value; ok = File.Exists(value); break;
                case "--pid":
                    foreach (var part in value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                    {
                        ok &= int.TryParse(part, CultureInfo.InvariantCulture, out var pid) && pid > 0;
                        pids.Add(pid);
                    }

                    break;
                default:
                    problem = $"unknown option {name}";
                    return null;
            }

            if (!ok)
            {
                problem = $"bad value for {name}: '{value}'";
                return null;
            }
        }

        if (url is null)
        {
            problem = "--url is required";
            return null;
        }

        var target = TargetUrl.TryParse(url, out problem);
        var found = Scenario.Find(scenario);
        if (found is null)
        {
            problem ??= $"unknown scenario '{scenario}' (known: {Scenario.Names})";
        }

        if (target is null || found is null)
        {
            return null;
        }

        return new LoadOptions
        {
            Target = target,
            Scenario = found,
            Connections = connections,
            DurationSeconds = duration,
            WarmupSeconds = warmup,
            Rate = rate,
            TimeoutSeconds = timeout,
            Pids = [.. pids],
            Label = label.Length > 0 ? label : target.Text,
            JsonPath = json,
            CaFile = ca,
        };
    }

    /// <summary>Accepts "10", "10s", "1.5" or "500ms".</summary>
    private static bool TryParseSeconds(string text, out double seconds)
    {
        if (text.EndsWith("ms", StringComparison.Ordinal))
        {
            var ok = double.TryParse(text.AsSpan(0, text.Length - 2), CultureInfo.InvariantCulture, out var ms);
            seconds = ms / 1000;
            return ok;
        }

        return double.TryParse(text.AsSpan(0, text.EndsWith('s') ? text.Length - 1 : text.Length), CultureInfo.InvariantCulture, out seconds);
    }
}
