namespace FastMcp.Mcp;

/// <summary>
/// MCP protocol versions (dates, YYYY-MM-DD) and the era rules that hang on them. 2026-07-28 and later are the
/// stateless era: per-request _meta, Mcp-Method / Mcp-Name headers checked against the body, no sessions.
/// </summary>
public static class McpProtocolVersions
{
    /// <summary>Deprecated HTTP+SSE era.</summary>
    public static ReadOnlySpan<byte> V2024_11_05 => "2024-11-05"u8;
    /// <summary>Streamable HTTP, sessions, JSON-RPC batches; assumed when MCP-Protocol-Version is absent.</summary>
    public static ReadOnlySpan<byte> V2025_03_26 => "2025-03-26"u8;
    /// <summary>Batches removed, MCP-Protocol-Version header introduced.</summary>
    public static ReadOnlySpan<byte> V2025_06_18 => "2025-06-18"u8;
    /// <summary>Last session-era version.</summary>
    public static ReadOnlySpan<byte> V2025_11_25 => "2025-11-25"u8;
    /// <summary>First stateless version.</summary>
    public static ReadOnlySpan<byte> V2026_07_28 => "2026-07-28"u8;

    /// <summary>The newest version the gateway knows.</summary>
    public static ReadOnlySpan<byte> Latest => V2026_07_28;

    /// <summary>Version assumed for a session-era request without MCP-Protocol-Version (transport spec).</summary>
    public static ReadOnlySpan<byte> AssumedWhenAbsent => V2025_03_26;

    /// <summary>The known versions as a JSON array, newest first: the <c>data.supported</c> of an UnsupportedProtocolVersion error.</summary>
    public static ReadOnlySpan<byte> KnownJsonArray => "[\"2026-07-28\",\"2025-11-25\",\"2025-06-18\",\"2025-03-26\",\"2024-11-05\"]"u8;

    /// <summary>True for a version this gateway knows.</summary>
    public static bool IsKnown(ReadOnlySpan<byte> v) =>
        v.SequenceEqual(V2026_07_28) || v.SequenceEqual(V2025_11_25) || v.SequenceEqual(V2025_06_18)
        || v.SequenceEqual(V2025_03_26) || v.SequenceEqual(V2024_11_05);

    /// <summary>
    /// True for 2026-07-28 and any later well-formed date: those carry headers that must match the body. Later,
    /// unknown versions still count as stateless so that header checks are never skipped because of them.
    /// </summary>
    public static bool IsStateless(ReadOnlySpan<byte> v) => IsDate(v) && v.SequenceCompareTo(V2026_07_28) >= 0;

    /// <summary>True for the session era (a well-formed date before 2026-07-28).</summary>
    public static bool IsSessionEra(ReadOnlySpan<byte> v) => IsDate(v) && v.SequenceCompareTo(V2026_07_28) < 0;

    /// <summary>True when JSON-RPC batches (top-level arrays) are allowed: 2025-03-26 only.</summary>
    public static bool AllowsBatches(ReadOnlySpan<byte> v) => v.SequenceEqual(V2025_03_26);

    /// <summary>YYYY-MM-DD with ASCII digits (ordinal comparison of such strings is date order).</summary>
    public static bool IsDate(ReadOnlySpan<byte> v) =>
        v.Length == 10 && v[4] == (byte)'-' && v[7] == (byte)'-'
        && IsDigits(v[..4]) && IsDigits(v.Slice(5, 2)) && IsDigits(v.Slice(8, 2));

    private static bool IsDigits(ReadOnlySpan<byte> s) => s.IndexOfAnyExceptInRange((byte)'0', (byte)'9') < 0;
}
