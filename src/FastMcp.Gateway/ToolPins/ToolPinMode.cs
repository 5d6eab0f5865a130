namespace FastMcp.Gateway.ToolPins;

/// <summary>What a tool definition that differs from its pin does on one upstream (toolPins.mode).</summary>
internal enum ToolPinMode : byte
{
    /// <summary>Nothing is read: today's relay, at no cost.</summary>
    Off,
    /// <summary>Logged, counted and recorded; the list is relayed unchanged and calls pass.</summary>
    Record,
    /// <summary>Withheld from the list, and its calls refused.</summary>
    Enforce,
}

/// <summary>What the pins say of a tools/call on an enforcing upstream.</summary>
internal enum ToolVerdict : byte
{
    Allowed,
    /// <summary>No pin for the name: (tool-not-pinned).</summary>
    NotPinned,
    /// <summary>Pinned, but the last definition seen on the upstream differs: (tool-definition-changed).</summary>
    Changed,
}

/// <summary>One tool of a list answer that differs from its pin: <paramref name="Pinned"/> is null when the name is not pinned.</summary>
internal readonly record struct ToolMismatch(string Name, string? Pinned, string Seen);
