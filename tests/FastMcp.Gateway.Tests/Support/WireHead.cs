using System.Text;

namespace FastMcp.Gateway.Tests.Support;

/// <summary>A start line and header fields as they came off the wire, order and duplicates kept.</summary>
internal sealed class WireHead
{
    private WireHead(string startLine, List<KeyValuePair<string, string>> fields, string raw)
    {
        StartLine = startLine;
        Fields = fields;
        Raw = raw;
    }

    public string StartLine { get; }
    public IReadOnlyList<KeyValuePair<string, string>> Fields { get; }

    /// <summary>The head exactly as received (start line through the empty line).</summary>
    public string Raw { get; }

    /// <summary>The value of the only field with this name, null when absent; fails when it occurs more than once.</summary>
    public string? Get(string name)
    {
        string[] all = GetAll(name);
        return all.Length switch
        {
            0 => null,
            1 => all[0],
            _ => throw new InvalidOperationException($"header {name} occurs {all.Length} times: {string.Join(" | ", all)}"),
        };
    }

    public string[] GetAll(string name)
    {
        var values = new List<string>();
        foreach (KeyValuePair<string, string> f in Fields)
        {
            if (string.Equals(f.Key, name, StringComparison.OrdinalIgnoreCase)) values.Add(f.Value);
        }
        return [.. values];
    }

    public bool Has(string name) => GetAll(name).Length > 0;

    /// <summary>Reads lines up to the empty line. Null when the peer closed before sending any byte of a head.</summary>
    public static async Task<WireHead?> ReadAsync(SocketReader reader, TimeSpan timeout, string waitingFor)
    {
        string? startLine = await reader.ReadLineAsync(timeout, waitingFor).ConfigureAwait(false);
        if (startLine is null) return null;
        var raw = new StringBuilder(startLine).Append("\r\n");
        var fields = new List<KeyValuePair<string, string>>();
        while (true)
        {
            string line = await reader.ReadLineAsync(timeout, waitingFor).ConfigureAwait(false)
                ?? throw new IOException($"peer closed in the middle of a head while waiting for {waitingFor}: {raw}");
            raw.Append(line).Append("\r\n");
            if (line.Length == 0) break;
            int colon = line.IndexOf(':');
            if (colon <= 0) throw new FormatException($"not a header line: '{line}'");
            fields.Add(new(line[..colon], line[(colon + 1)..].Trim(' ', '\t')));
        }
        return new WireHead(startLine, fields, raw.ToString());
    }

    /// <summary>Reads a chunked body to its end, trailers included, and returns the decoded bytes.</summary>
    public static async Task<byte[]> ReadChunkedBodyAsync(SocketReader reader, TimeSpan timeout, string waitingFor)
    {
        using var body = new MemoryStream();
        while (true)
        {
            byte[]? chunk = await ReadChunkAsync(reader, timeout, waitingFor).ConfigureAwait(false);
            if (chunk is null) return body.ToArray();
            body.Write(chunk);
        }
    }

    /// <summary>Reads one chunk; null for the last (0-size) chunk, whose trailer section is consumed too.</summary>
    public static async Task<byte[]?> ReadChunkAsync(SocketReader reader, TimeSpan timeout, string waitingFor)
    {
        string sizeLine = await reader.ReadLineAsync(timeout, waitingFor).ConfigureAwait(false)
            ?? throw new IOException($"peer closed before the next chunk-size line (no terminating 0-chunk) while waiting for {waitingFor}");
        int semicolon = sizeLine.IndexOf(';');
        string hex = (semicolon >= 0 ? sizeLine[..semicolon] : sizeLine).Trim();
        int size = Convert.ToInt32(hex, 16);
        if (size == 0)
        {
            while (true)
            {
                string trailer = await reader.ReadLineAsync(timeout, waitingFor).ConfigureAwait(false)
                    ?? throw new IOException("peer closed inside the trailer section");
                if (trailer.Length == 0) return null;
            }
        }
        byte[] data = await reader.ReadExactAsync(size, timeout, waitingFor).ConfigureAwait(false);
        string crlf = await reader.ReadLineAsync(timeout, waitingFor).ConfigureAwait(false) ?? throw new IOException("peer closed after chunk data");
        if (crlf.Length != 0) throw new FormatException($"chunk data not followed by CRLF: '{crlf}'");
        return data;
    }
}
