using FastMcp.Audit.Format;
using FastMcp.Audit.Shipping;

namespace FastMcp.Audit.Verification;

/// <summary>The objects of one chain found in a store: segments by index, and the rolling checkpoint.</summary>
public sealed class ChainFiles
{
    public string Chain { get; init; } = "";
    /// <summary>Key prefix ("chain/" or "" when the location is the chain folder itself).</summary>
    public string Prefix { get; init; } = "";
    public SortedDictionary<long, string> Segments { get; } = new();
    public List<(long Index, string Key)> Duplicates { get; } = new();
    public HashSet<long> OpenSegments { get; } = new();
    public string? CheckpointKey { get; set; }
    /// <summary>A writer's local <c>last-seal</c> (present only in the gateway's own folder, never shipped).</summary>
    public string? LastSealKey { get; set; }
    /// <summary>Every checkpoint published under "{chain}/checkpoints/" (docs/audit-format.md §10.1), each with the sequence its name gives.</summary>
    public List<(long Sequence, string Key)> PublishedCheckpoints { get; } = new();

    /// <summary>Groups the store's keys into chains ("{chain}/{index}.seg|.open", "{chain}/checkpoint").</summary>
    public static async Task<List<ChainFiles>> DiscoverAsync(ISegmentStore store, CancellationToken ct)
    {
        var byChain = new SortedDictionary<string, ChainFiles>(StringComparer.Ordinal);
        foreach (var key in await store.ListAsync("", ct).ConfigureAwait(false))
        {
            int slash = key.LastIndexOf('/');
            string dir = slash < 0 ? "" : key[..slash];
            string name = key[(slash + 1)..];
            if (dir.Contains('/'))
            {
                // {chain}/checkpoints/{sequence}.checkpoint: published anchors; every one is checked.
                int inner = dir.LastIndexOf('/');
                string chainDir = dir[..inner];
                if (dir[(inner + 1)..] != Anchoring.AnchorNames.Folder || chainDir.Contains('/') || !Anchoring.AnchorNames.TryParse(name, out long published)) continue;
                if (!byChain.TryGetValue(chainDir, out var owner))
                    byChain[chainDir] = owner = new ChainFiles { Chain = chainDir, Prefix = chainDir + "/" };
                owner.PublishedCheckpoints.Add((published, key));
                continue;
            }
            if (dir == Anchoring.AnchorNames.Folder && Anchoring.AnchorNames.TryParse(name, out long own))
            {
                // The location is one chain's folder: its published anchors are in checkpoints/.
                if (!byChain.TryGetValue("", out var self)) byChain[""] = self = new ChainFiles();
                self.PublishedCheckpoints.Add((own, key));
                continue;
            }
            bool isSegment = SegmentNames.TryParse(name, out long index, out bool sealed_);
            if (!isSegment && name != SegmentNames.CheckpointName && name != SegmentNames.LastSealName) continue;
            if (!byChain.TryGetValue(dir, out var chain))
                byChain[dir] = chain = new ChainFiles { Chain = dir, Prefix = dir.Length == 0 ? "" : dir + "/" };
            if (name == SegmentNames.LastSealName) { chain.LastSealKey = key; continue; }
            if (!isSegment) { chain.CheckpointKey = key; continue; }
            if (chain.Segments.ContainsKey(index)) { chain.Duplicates.Add((index, key)); continue; }
            chain.Segments[index] = key;
            if (!sealed_) chain.OpenSegments.Add(index);
        }
        var result = new List<ChainFiles>();
        foreach (var c in byChain.Values)
        {
            if (c.Segments.Count == 0 && c.CheckpointKey is null && c.PublishedCheckpoints.Count == 0) continue;
            c.PublishedCheckpoints.Sort(static (a, b) => a.Sequence.CompareTo(b.Sequence));
            result.Add(c);
        }
        return result;
    }
}
