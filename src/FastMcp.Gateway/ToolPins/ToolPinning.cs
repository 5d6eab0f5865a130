using System.Buffers;
using System.Text;
using System.Text.Json;
using FastMcp.Gateway.Configuration;

namespace FastMcp.Gateway.ToolPins;

/// <summary>
/// Tool definition pinning for the upstreams whose toolPins mode is not off (none of this exists when every mode is
/// off). Holds each such upstream's pins and observed definitions; the pins file is read at start (a bad file is a start
/// error naming the member) and again on every configuration reload or change of the file (a bad file then keeps the pins in
/// force, logged).
/// </summary>
internal sealed class ToolPinning
{
    private readonly Dictionary<string, UpstreamToolPins> _upstreams;
    private readonly string? _path;
    private readonly List<string> _names;
    private (DateTime, long) _fileStamp;
    // The reloader's poll, SIGHUP and a configuration reload may ask at once: one read at a time.
    private readonly Lock _reloadGate = new();

    private ToolPinning(Dictionary<string, UpstreamToolPins> upstreams, string? path, List<string> names)
    {
        _upstreams = upstreams;
        _path = path;
        _names = names;
    }

    public Hosting.LogRateLimit LogLimit { get; } = new();

    /// <summary>Null when every upstream's mode is off. Throws ConfigurationException naming the field of anything that cannot be used.</summary>
    public static ToolPinning? Create(GatewayOptions options)
    {
        ToolPinOptions o = options.ToolPins;
        List<string> names = RouteValidation.UpstreamNames(options);
        ToolPinMode fallback = ParseMode(o.Mode, "toolPins.mode");
        foreach (string key in o.Upstreams.Keys)
            if (!names.Contains(key))
                throw new ConfigurationException($"toolPins.upstreams.{key}", $"no upstream named '{key}' (the gateway forwards to {string.Join(", ", names)})");
        var upstreams = new Dictionary<string, UpstreamToolPins>(StringComparer.Ordinal);
        foreach (string name in names)
        {
            string field = o.Upstreams.ContainsKey(name) ? $"toolPins.upstreams.{name}" : "toolPins.mode";
            ToolPinMode mode = o.Upstreams.TryGetValue(name, out string? text) ? ParseMode(text, field) : fallback;
            if (mode == ToolPinMode.Off) continue;
            if (options.Passthrough) throw new ConfigurationException(field, "not available in pass-through mode (pinning reads every tools/list answer)");
            if (mode == ToolPinMode.Enforce && string.IsNullOrEmpty(o.File))
                throw new ConfigurationException("toolPins.file", $"required: upstream '{name}' enforces pins (write one with `fastmcp tools pin`)");
            upstreams.Add(name, new UpstreamToolPins(name, mode));
        }
        if (upstreams.Count == 0) return null;
        var pinning = new ToolPinning(upstreams, string.IsNullOrEmpty(o.File) ? null : Path.GetFullPath(o.File), names);
        pinning.Apply(pinning._path is null ? null : ToolPinsFile.Load(pinning._path, names));
        pinning._fileStamp = pinning.Stamp();
        return pinning;
    }

    /// <summary>The pinning of <paramref name="upstream"/>; null when its mode is off.</summary>
    public UpstreamToolPins? For(string? upstream) => upstream is not null && _upstreams.TryGetValue(upstream, out UpstreamToolPins? p) ? p : null;

    public IEnumerable<UpstreamToolPins> Upstreams => _upstreams.Values;

    /// <summary>Reads the pins file again; a file that cannot be used keeps the pins in force (logged). True when new pins are in force.</summary>
    public bool Reload(string why)
    {
        if (_path is null) return false;
        lock (_reloadGate)
        {
            _fileStamp = Stamp();
            try
            {
                Apply(ToolPinsFile.Load(_path, _names));
            }
            catch (ConfigurationException e)
            {
                Hosting.Log.Error($"tool pins reload ({why}) rejected, the pins in force stay: {FastMcp.Http.PlainError.Describe(e)}");
                return false;
            }
            Hosting.Log.Info($"tool pins reload ({why}): {_path} in force");
            return true;
        }
    }

    /// <summary>Reloads when the pins file changed since it was last read (the reloader's poll).</summary>
    public void ReloadIfChanged()
    {
        if (_path is null) return;
        bool changed;
        lock (_reloadGate) changed = Stamp() != _fileStamp;
        if (changed) Reload("pins file changed");
    }

    private void Apply(Dictionary<string, Dictionary<string, string>>? pins)
    {
        foreach (UpstreamToolPins upstream in _upstreams.Values)
        {
            // With a file, an upstream it does not name has no pins: every tool of it is unpinned.
            Dictionary<string, string>? own = pins is null ? null : pins.TryGetValue(upstream.Name, out var p) ? p : new Dictionary<string, string>(StringComparer.Ordinal);
            upstream.SetPins(own);
        }
    }

    /// <summary>GET /tools/observed: per pinned upstream its mode and the last definition seen of each tool, with digest and pin.</summary>
    public byte[] ObservedJson()
    {
        var buffer = new ArrayBufferWriter<byte>(4096);
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteStartObject("upstreams"u8);
            foreach (UpstreamToolPins upstream in _upstreams.Values)
            {
                w.WriteStartObject(upstream.Name);
                w.WriteString("mode"u8, upstream.Mode == ToolPinMode.Enforce ? "enforce" : "record");
                w.WriteNumber("notKept"u8, upstream.NotKept);
                w.WriteStartObject("tools"u8);
                foreach ((ObservedTool tool, string? pin) in upstream.Snapshot())
                {
                    // Names and definitions come from the upstream: card numbers in them are served masked (as the client got them).
                    w.WriteStartObject(Stages.CardText.Mask(tool.Name));
                    w.WriteString("digest"u8, tool.Digest);
                    if (pin is null) w.WriteNull("pin"u8);
                    else w.WriteString("pin"u8, pin);
                    if (tool.Omitted)
                    {
                        w.WriteNull("definition"u8);
                        w.WriteBoolean("definitionOmitted"u8, true);
                    }
                    else
                    {
                        w.WritePropertyName("definition"u8);
                        w.WriteRawValue(tool.Canonical, skipInputValidation: true);
                    }
                    w.WriteEndObject();
                }
                w.WriteEndObject();
                w.WriteEndObject();
            }
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>fastmcp_tool_definition_mismatches_total{upstream} and fastmcp_tool_definitions_not_kept_total{upstream}.</summary>
    public void RenderMetrics(StringBuilder sb)
    {
        sb.Append("# HELP fastmcp_tool_definition_mismatches_total tools in tools/list answers whose definition differed from its pin (or had none)\n");
        sb.Append("# TYPE fastmcp_tool_definition_mismatches_total counter\n");
        foreach (UpstreamToolPins upstream in _upstreams.Values)
            sb.Append("fastmcp_tool_definition_mismatches_total{upstream=\"").Append(upstream.Name).Append("\"} ").Append(upstream.Mismatches).Append('\n');
        sb.Append("# HELP fastmcp_tool_definitions_not_kept_total tools (or definitions) of tools/list answers not kept for /tools/observed past the per-upstream bound\n");
        sb.Append("# TYPE fastmcp_tool_definitions_not_kept_total counter\n");
        foreach (UpstreamToolPins upstream in _upstreams.Values)
            sb.Append("fastmcp_tool_definitions_not_kept_total{upstream=\"").Append(upstream.Name).Append("\"} ").Append(upstream.NotKept).Append('\n');
    }

    private static ToolPinMode ParseMode(string? text, string field) => text switch
    {
        "off" => ToolPinMode.Off,
        "record" => ToolPinMode.Record,
        "enforce" => ToolPinMode.Enforce,
        _ => throw new ConfigurationException(field, $"'{text}' is not one of off, record, enforce"),
    };

    private (DateTime, long) Stamp()
    {
        if (_path is null) return default;
        try
        {
            var info = new FileInfo(_path);
            return info.Exists ? (info.LastWriteTimeUtc, info.Length) : (DateTime.MinValue, -1);
        }
        catch (IOException)
        {
            return (DateTime.MinValue, -1);
        }
    }
}
