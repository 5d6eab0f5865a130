namespace FastMcp.Gateway.ToolPins;

/// <summary>One tool of a list answer that differs from its pin: <paramref name="Pinned"/> is null when the name is not pinned.</summary>
internal readonly record struct ToolMismatch(string Name, string? Pinned, string Seen);
