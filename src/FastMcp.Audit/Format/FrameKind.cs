namespace FastMcp.Audit.Format;

/// <summary>Frame kinds (byte 4 of a frame header). See docs/audit-format.md §3.</summary>
public enum FrameKind : byte
{
    Header = 1,
    Records = 2,
    Checkpoint = 3,
    Seal = 4,
}

/// <summary>Payload encodings (byte 5 of a frame header).</summary>
public enum FrameCodec : byte
{
    None = 0,
    Zstd = 1,
}
