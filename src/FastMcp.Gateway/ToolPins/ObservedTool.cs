namespace FastMcp.Gateway.ToolPins;

/// <summary>
/// A tool definition as a list answer carried it: its name, digest and the canonical text the digest is over. What
/// the gateway keeps of it for GET /tools/observed is <see cref="UpstreamToolPins.Keep"/>'s copy: card numbers masked,
/// and <see cref="Canonical"/> empty with <see cref="Omitted"/> set when the upstream's bound on kept bytes was reached.
/// </summary>
internal sealed record ObservedTool(string Name, string Digest, byte[] Canonical, bool Omitted = false);
