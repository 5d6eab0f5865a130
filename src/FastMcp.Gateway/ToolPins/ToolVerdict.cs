namespace FastMcp.Gateway.ToolPins;

/// <summary>What the pins say of a tools/call on an enforcing upstream.</summary>
internal enum ToolVerdict : byte
{
    Allowed,
    /// <summary>No pin for the name: (tool-not-pinned).</summary>
    NotPinned,
    /// <summary>Pinned, but the last definition seen on the upstream differs: (tool-definition-changed).</summary>
    Changed,
}
