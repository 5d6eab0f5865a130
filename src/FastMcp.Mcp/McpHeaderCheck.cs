using System.Buffers;

namespace FastMcp.Mcp;

/// <summary>
/// 2026-07-28: Mcp-Method / Mcp-Name / MCP-Protocol-Version headers must match the body before anything trusts
/// them (a router on the header and a server on the body must never disagree). Header values arrive as raw
/// bytes (an empty span means "absent"); <c>=?base64?…?=</c> values are decoded. Zero allocation for header
/// values up to 1 KiB (a pooled buffer above).
/// </summary>
public static class McpHeaderCheck
{
    private const int StackScratch = 768; // decodes a 1 KiB base64 header

    /// <summary>
    /// Checks the mirrored headers against the inspected body. A request is in the stateless era when its body
    /// carries <c>_meta</c> protocolVersion (then MCP-Protocol-Version and Mcp-Method, and Mcp-Name where the
    /// method has one, are required); a request whose header names 2026-07-28 or later must carry it. For a session-era message the headers are optional, but any that is present
    /// must still match (so nothing downstream can be misled by it).
    /// </summary>
    public static McpHeaderMismatch Check(in ReadOnlySequence<byte> body, in McpCall call,
        ReadOnlySpan<byte> mcpMethodHeader, ReadOnlySpan<byte> mcpNameHeader, ReadOnlySpan<byte> protocolVersionHeader)
    {
        ReadOnlySpan<byte> method = McpHeaderValue.Trim(mcpMethodHeader);
        ReadOnlySpan<byte> version = McpHeaderValue.Trim(protocolVersionHeader);
        if (!McpHeaderValue.IsFieldValue(method) || !McpHeaderValue.IsFieldValue(version))
        {
            return McpHeaderMismatch.MalformedEncodedValue;
        }

        bool stateless = call.HasProtocolVersionMeta;
        if (stateless)
        {
            if (version.IsEmpty)
            {
                return McpHeaderMismatch.MissingProtocolVersionHeader;
            }
            if (!McpInspector.UnescapedEquals(body, call.ProtocolVersionMetaRange, version))
            {
                return McpHeaderMismatch.ProtocolVersionMismatch;
            }
        }
        else if (McpProtocolVersions.IsStateless(version) && call.Kind != McpMessageKind.Notification)
        {
            // The header claims the stateless era but the request does not carry its version: they disagree.
            // (2026-07-28 notifications have no protocolVersion in _meta, so for them the header stands alone.)
            return McpHeaderMismatch.ProtocolVersionMismatch;
        }

        bool isRequest = call.Kind == McpMessageKind.Request;
        if (method.IsEmpty)
        {
            if (stateless && isRequest)
            {
                return McpHeaderMismatch.MissingMethodHeader;
            }
        }
        else if (call.Kind is not (McpMessageKind.Request or McpMessageKind.Notification)
            || !McpInspector.UnescapedEquals(body, call.MethodRange, method))
        {
            return McpHeaderMismatch.MethodMismatch;
        }

        if (McpHeaderValue.Trim(mcpNameHeader).IsEmpty)
        {
            return stateless && isRequest && McpMethods.RequiresNameHeader(call.Method)
                ? McpHeaderMismatch.MissingNameHeader
                : McpHeaderMismatch.None;
        }
        return CheckName(body, call, mcpNameHeader);
    }

    private static McpHeaderMismatch CheckName(in ReadOnlySequence<byte> body, in McpCall call, ReadOnlySpan<byte> nameHeader)
    {
        byte[]? rented = null;
        int needed = McpHeaderValue.MaxDecodedLength(nameHeader.Length);
        Span<byte> scratch = needed <= StackScratch
            ? stackalloc byte[StackScratch]
            : (rented = ArrayPool<byte>.Shared.Rent(needed));
        try
        {
            McpHeaderValueStatus status = McpHeaderValue.Decode(nameHeader, scratch, out ReadOnlySpan<byte> name);
            if (status is McpHeaderValueStatus.Malformed or McpHeaderValueStatus.TooLong)
            {
                return McpHeaderMismatch.MalformedEncodedValue;
            }
            // A name header on a message without a name (tools/list, a response…) claims something the body does not say.
            if (!call.HasName || !McpInspector.UnescapedEquals(body, call.NameRange, name))
            {
                return McpHeaderMismatch.NameMismatch;
            }
            return McpHeaderMismatch.None;
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }
}
