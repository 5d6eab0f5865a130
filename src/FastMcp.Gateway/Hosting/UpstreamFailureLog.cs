using System.Text;
using FastMcp.Gateway.Forwarding;
using FastMcp.Gateway.Proxy;
using FastMcp.Mcp;

namespace FastMcp.Gateway.Hosting;

/// <summary>
/// The log line of a failed upstream exchange: which upstream, what went wrong, and which request
/// (HTTP method and path, JSON-RPC method, tool or resource name, id, client). Failure path only.
/// The line is card-masked by <see cref="Log"/>.
/// </summary>
internal static class UpstreamFailureLog
{
    /// <summary>The kind under which these lines are rate-limited (with the upstream and the error kind).</summary>
    public const string Kind = "upstream failure";

    public static string Describe(ForwardingError error, string upstream, Exchange ex, ReadOnlySpan<byte> clientAddress)
    {
        var sb = new StringBuilder(160);
        sb.Append("upstream ").Append(upstream).Append(" failed: ").Append(error)
          .Append(" (").Append(Encoding.UTF8.GetString(error.Message(ex))).Append(')');
        sb.Append("; request ").Append(Encoding.ASCII.GetString(ex.Request.MethodToken)).Append(' ').Append(Encoding.ASCII.GetString(ex.Request.Target));
        if (ex.HasCall)
        {
            ReadOnlySequenceOrBody(ex, out var body);
            ref McpCall call = ref ex.Call;
            if (call.Method != McpMethod.Unknown) sb.Append(" method=").Append(McpMethods.Name(call.Method));
            else if (!McpCall.IsEmpty(call.MethodRange)) sb.Append(" method=").Append(Text(body, call.MethodRange));
            if (call.HasName) sb.Append(" name=").Append(Text(body, call.NameRange));
            if (call.HasId) sb.Append(" id=").Append(Text(body, call.IdRange));
        }
        sb.Append(" client=").Append(Encoding.ASCII.GetString(clientAddress));
        return sb.ToString();
    }

    private static void ReadOnlySequenceOrBody(Exchange ex, out System.Buffers.ReadOnlySequence<byte> body) =>
        body = ex.Recorded.IsEmpty ? ex.Body : ex.Recorded;

    private static string Text(in System.Buffers.ReadOnlySequence<byte> body, Range token)
    {
        Span<byte> buffer = stackalloc byte[256];
        int n = McpInspector.CopyUnescaped(body, token, buffer);
        if (n >= 0) return Encoding.UTF8.GetString(buffer[..n]);
        // Not a string (a numeric id) or longer than the buffer: the raw token when short; the log line masks card numbers.
        System.Buffers.ReadOnlySequence<byte> raw = body.Slice(token.Start.Value, token.End.Value - token.Start.Value);
        return raw.Length <= buffer.Length ? Encoding.UTF8.GetString(raw) : "(long value)";
    }
}
