using System.Text;

namespace FastMcp.Gateway.ToolPins;

/// <summary>
/// One upstream's pins and the definitions this process saw on it. List answers (rare) update it under a lock and
/// publish a new verdict table; a tools/call reads the table in force without locking or allocating.
/// </summary>
internal sealed class UpstreamToolPins(string name, ToolPinMode mode)
{
    /// <summary>The longest tool name a call is looked up by: the longest the policy decides (a longer call is refused before this).</summary>
    public const int MaxNameBytes = FastMcp.Policy.McpCallDecision.MaxNameBytes;

    /// <summary>
    /// Tools kept as seen per upstream besides the pinned ones (which the pins file bounds): an upstream naming new tools
    /// in every answer must not grow the gateway without bound. Past it a tool is still compared and withheld (enforce)
    /// or reported (record), only not kept for /tools/observed; counted in <see cref="NotKept"/>.
    /// </summary>
    public const int MaxObservedTools = 4096;

    /// <summary>Bytes of definitions (and names) kept per upstream; past it a kept tool's definition is omitted, its digest kept.</summary>
    public const long MaxObservedBytes = 16L * 1024 * 1024;

    private readonly Lock _gate = new();
    private readonly Dictionary<string, ObservedTool> _observed = new(StringComparer.Ordinal);
    // Without a pins file (record mode only): the first definition this process saw of each tool is its pin.
    private readonly Dictionary<string, string> _firstSeen = new(StringComparer.Ordinal);
    private Dictionary<string, string>? _pins;
    private VerdictTable _verdicts = VerdictTable.Empty;
    private long _mismatches;
    private long _observedBytes;
    private long _notKept;

    public string Name { get; } = name;
    public ToolPinMode Mode { get; } = mode;

    /// <summary>Tools whose definition differed from its pin (or had none), counted per list answer that carried them.</summary>
    public long Mismatches => Interlocked.Read(ref _mismatches);

    /// <summary>Tools (or definitions) of list answers not kept for /tools/observed past <see cref="MaxObservedTools"/> or <see cref="MaxObservedBytes"/>.</summary>
    public long NotKept => Interlocked.Read(ref _notKept);

    /// <summary>The pins in force (null: no pins file; the first definitions seen are the pins).</summary>
    public void SetPins(Dictionary<string, string>? pins)
    {
        lock (_gate)
        {
            _pins = pins;
            Publish();
        }
    }

    /// <summary>
    /// Takes the tools of one list answer (name, digest, canonical text) as the last definitions seen and returns those
    /// that differ from their pins (empty when none do).
    /// </summary>
    public List<ToolMismatch> Observe(List<ObservedTool> tools)
    {
        var mismatches = new List<ToolMismatch>();
        lock (_gate)
        {
            foreach (ObservedTool tool in tools)
            {
                Keep(tool);
                string? pin;
                if (_pins is null)
                {
                    // Past the bound a new name gets no first-seen pin: record mode then reports it as not pinned.
                    if (!_firstSeen.TryGetValue(tool.Name, out pin) && _firstSeen.Count < MaxObservedTools && tool.Name.Length <= MaxNameBytes)
                        _firstSeen[tool.Name] = pin = tool.Digest;
                }
                else
                {
                    _pins.TryGetValue(tool.Name, out pin);
                }
                if (pin != tool.Digest) mismatches.Add(new ToolMismatch(tool.Name, pin, tool.Digest));
            }
            Publish();
        }
        Interlocked.Add(ref _mismatches, mismatches.Count);
        return mismatches;
    }

    /// <summary>
    /// Under _gate. Keeps the tool as last seen, its card numbers masked. A pinned tool is always kept (its verdict needs
    /// its digest); another only within the upstream's bounds, and a name no call could use (longer than a call's) never.
    /// </summary>
    internal void Keep(ObservedTool tool)
    {
        _observed.TryGetValue(tool.Name, out ObservedTool? old);
        bool pinned = _pins is not null && _pins.ContainsKey(tool.Name);
        if (old is null && !pinned && (_observed.Count >= MaxObservedTools || tool.Name.Length > MaxNameBytes))
        {
            Interlocked.Increment(ref _notKept);
            return;
        }
        long oldBytes = old is null ? 0 : old.Canonical.Length + old.Name.Length;
        ObservedTool kept = new(tool.Name, tool.Digest, Stages.CardText.MaskJson(tool.Canonical));
        if (_observedBytes - oldBytes + kept.Canonical.Length + kept.Name.Length > MaxObservedBytes)
        {
            kept = kept with { Canonical = [], Omitted = true };
            Interlocked.Increment(ref _notKept);
        }
        _observed[tool.Name] = kept;
        _observedBytes += kept.Canonical.Length + kept.Name.Length - oldBytes;
    }

    /// <summary>What the pins say of a call to <paramref name="nameUtf8"/> (unescaped). Allocates nothing.</summary>
    public ToolVerdict Verdict(ReadOnlySpan<byte> nameUtf8)
    {
        if (nameUtf8.Length > MaxNameBytes) return ToolVerdict.NotPinned;
        Span<char> chars = stackalloc char[MaxNameBytes];
        if (!Encoding.UTF8.TryGetChars(nameUtf8, chars, out int n)) return ToolVerdict.NotPinned;
        return Volatile.Read(ref _verdicts).Lookup.TryGetValue(chars[..n], out ToolVerdict verdict) ? verdict : ToolVerdict.NotPinned;
    }

    /// <summary>The last definition seen of each tool, by name (a copy).</summary>
    public List<(ObservedTool Tool, string? Pin)> Snapshot()
    {
        lock (_gate)
        {
            var list = new List<(ObservedTool, string?)>(_observed.Count);
            foreach (ObservedTool tool in _observed.Values)
            {
                string? pin = null;
                if (_pins is not null) _pins.TryGetValue(tool.Name, out pin);
                else _firstSeen.TryGetValue(tool.Name, out pin);
                list.Add((tool, pin));
            }
            list.Sort(static (a, b) => string.CompareOrdinal(a.Item1.Name, b.Item1.Name));
            return list;
        }
    }

    // Under _gate. A pinned tool not seen yet is decided by its pin: a replica that did not relay the list must still serve it.
    private void Publish()
    {
        var map = new Dictionary<string, ToolVerdict>(StringComparer.Ordinal);
        if (_pins is not null)
        {
            foreach ((string tool, string pin) in _pins)
                map[tool] = _observed.TryGetValue(tool, out ObservedTool? seen) && seen.Digest != pin ? ToolVerdict.Changed : ToolVerdict.Allowed;
        }
        Volatile.Write(ref _verdicts, new VerdictTable(map));
    }

    private sealed class VerdictTable(Dictionary<string, ToolVerdict> map)
    {
        public static readonly VerdictTable Empty = new(new Dictionary<string, ToolVerdict>(StringComparer.Ordinal));
        public readonly Dictionary<string, ToolVerdict>.AlternateLookup<ReadOnlySpan<char>> Lookup = map.GetAlternateLookup<ReadOnlySpan<char>>();
    }
}
