namespace FastMcp.Mcp;

/// <summary>Why <see cref="McpBatch.LocateMembers(in System.Buffers.ReadOnlySequence{byte}, Span{Range}, out int)"/> found no usable members.</summary>
public enum McpBatchError : byte
{
    /// <summary>One or more members were located.</summary>
    None,
    /// <summary>The input is not UTF-8 JSON, or nests deeper than <see cref="McpInspector.MaxDepth"/>.</summary>
    InvalidJson,
    /// <summary>The top-level value is not an array.</summary>
    NotAnArray,
    /// <summary><c>[]</c>: JSON-RPC 2.0 calls an empty batch an invalid request.</summary>
    Empty,
    /// <summary>More than <see cref="McpBatch.MaxMembers"/> members.</summary>
    TooManyMembers,
}
