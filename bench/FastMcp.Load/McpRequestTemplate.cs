using System.Buffers;
using System.Buffers.Text;
using System.Text;

namespace FastMcp.Load;

/// <summary>
/// One pre-encoded HTTP POST carrying a JSON-RPC message whose id is a fixed-width string
/// ("c0001-0000000042"), so each new request only rewrites ten digits in place and the
/// Content-Length never changes.
/// </summary>
internal sealed class McpRequestTemplate
{
    private const string IdMarker = "{{id}}";
    private const int SequenceDigits = 10;
    private static readonly StandardFormat SequenceFormat = new('D', SequenceDigits);

    private readonly byte[] _bytes;
    private readonly int _idStart;   // index of the opening quote
    private readonly int _idLength;  // quotes included

    private McpRequestTemplate(byte[] bytes, int idStart, int idLength)
    {
        _bytes = bytes;
        _idStart = idStart;
        _idLength = idLength;
    }

    /// <summary>The request bytes; valid for the sequence number last set.</summary>
    public ReadOnlyMemory<byte> Bytes => _bytes;

    /// <summary>The id token as the target must echo it (quotes included); empty for notifications.</summary>
    public ReadOnlySpan<byte> IdToken => _bytes.AsSpan(_idStart, _idLength);

    public static McpRequestTemplate Create(TargetUrl target, string? sessionId, int connection, string jsonWithIdMarker)
    {
        var id = $"\"c{connection:D4}-{new string('0', SequenceDigits)}\"";
        var body = jsonWithIdMarker.Replace(IdMarker, id, StringComparison.Ordinal);
        var bodyBytes = Encoding.UTF8.GetBytes(body);
        var head = new StringBuilder(256)
            .Append("POST ").Append(target.Path).Append(" HTTP/1.1\r\n")
            .Append("Host: ").Append(target.HostHeader).Append("\r\n")
            .Append("Content-Type: application/json\r\n")
            .Append("Accept: application/json, text/event-stream\r\n")
            .Append("MCP-Protocol-Version: 2025-11-25\r\n");
        if (sessionId is not null)
        {
            head.Append("Mcp-Session-Id: ").Append(sessionId).Append("\r\n");
        }

        head.Append("Content-Length: ").Append(bodyBytes.Length).Append("\r\n\r\n");
        var headBytes = Encoding.ASCII.GetBytes(head.ToString());
        var bytes = new byte[headBytes.Length + bodyBytes.Length];
        headBytes.CopyTo(bytes, 0);
        bodyBytes.CopyTo(bytes, headBytes.Length);

        var idInBody = body.IndexOf(id, StringComparison.Ordinal);
        return idInBody < 0
            ? new McpRequestTemplate(bytes, 0, 0)
            : new McpRequestTemplate(bytes, headBytes.Length + Encoding.UTF8.GetByteCount(body.AsSpan(0, idInBody)), id.Length);
    }

    /// <summary>Writes <paramref name="sequence"/> into the id's digits.</summary>
    public void SetSequence(long sequence)
    {
        if (_idLength == 0)
        {
            return;
        }

        // Digits sit just before the closing quote.
        var digits = _bytes.AsSpan(_idStart + _idLength - 1 - SequenceDigits, SequenceDigits);
        Utf8Formatter.TryFormat(sequence % 10_000_000_000, digits, out _, SequenceFormat);
    }
}
