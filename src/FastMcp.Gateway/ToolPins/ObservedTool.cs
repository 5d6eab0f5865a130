namespace FastMcp.Gateway.ToolPins;

/// <summary>A tool definition as a list answer carried it: its name, digest and the canonical text the digest is over.</summary>
internal sealed record ObservedTool(string Name, string Digest, byte[] Canonical);
