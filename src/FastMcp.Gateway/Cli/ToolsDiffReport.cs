using System.Text.Json;
using System.Text.Json.Serialization;

namespace FastMcp.Gateway.Cli;

/// <summary>What `fastmcp tools diff` found: per upstream, the tools that differ from the pins file. Printed as text or (--format json) as this JSON.</summary>
internal sealed class ToolsDiffReport
{
    /// <summary>The pins file compared with.</summary>
    public string Pins { get; set; } = "";

    /// <summary>True when anything differs, or cannot be compared (exit 1).</summary>
    public bool Drift { get; set; }

    public List<UpstreamDrift> Upstreams { get; set; } = [];
}

internal sealed class UpstreamDrift
{
    public string Name { get; set; } = "";

    /// <summary>The gateway's toolPins mode for it (record, enforce); null when the gateway does not pin it.</summary>
    public string? Mode { get; set; }

    /// <summary>The pins file names it but the gateway does not pin it (mode off, or no such upstream): nothing to compare.</summary>
    public bool? NotPinnedByGateway { get; set; }

    /// <summary>The gateway pins it but the pins file does not name it: every tool of it is new (enforce withholds them all).</summary>
    public bool? NotInPinsFile { get; set; }

    /// <summary>Tools (or definitions) the gateway saw and did not keep: they cannot be compared.</summary>
    public long NotKept { get; set; }

    /// <summary>Tools the gateway holds as seen on it (0: no list of it went through the gateway since it started).</summary>
    public int Seen { get; set; }

    public List<NewTool> New { get; set; } = [];
    public List<GoneTool> Gone { get; set; } = [];
    public List<ChangedTool> Changed { get; set; } = [];

    /// <summary>Tools seen with the pinned digest.</summary>
    public int Unchanged { get; set; }

    public bool Drift { get; set; }
}

/// <summary>Seen, not pinned.</summary>
internal sealed class NewTool
{
    public string Name { get; set; } = "";
    public string Digest { get; set; } = "";

    /// <summary>ToolNameSkeleton's flag for a name that is not ASCII.</summary>
    public string? NotAscii { get; set; }

    /// <summary>Pinned or seen names of the same upstream this one looks like (ToolNameSkeleton).</summary>
    public List<string>? LooksLike { get; set; }

    /// <summary>The gateway kept its digest but not its definition (past its bound): nobody can review it from the view.</summary>
    public bool? DefinitionOmitted { get; set; }
}

/// <summary>Pinned, not seen.</summary>
internal sealed class GoneTool
{
    public string Name { get; set; } = "";
    public string Pin { get; set; } = "";
}

/// <summary>Seen with another digest than its pin.</summary>
internal sealed class ChangedTool
{
    public string Name { get; set; } = "";
    public string Pinned { get; set; } = "";
    public string Seen { get; set; } = "";

    /// <summary>Why what changed is not shown (null when <see cref="Changes"/> shows it, or when no --definitions was given).</summary>
    public string? NotShown { get; set; }

    /// <summary>With --definitions: the members that differ from the reviewed definition.</summary>
    public List<MemberChange>? Changes { get; set; }

    /// <summary>Changes past the ones listed (at most <see cref="ToolsDiffCommand.MaxChangesShown"/> are).</summary>
    public int? ChangesNotListed { get; set; }
}

internal sealed class MemberChange
{
    /// <summary>Member names from the tool object down.</summary>
    public List<string> Path { get; set; } = [];

    /// <summary>added, removed or changed.</summary>
    public string Change { get; set; } = "";

    public JsonElement? Old { get; set; }
    public JsonElement? New { get; set; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, WriteIndented = true)]
[JsonSerializable(typeof(ToolsDiffReport))]
internal sealed partial class ToolsDiffJsonContext : JsonSerializerContext;
