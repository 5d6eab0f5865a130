using System.Text;

namespace FastMcp.Interop.Tests.Harness;

/// <summary>One server-sent event; Data joins multi-line data fields with '\n'.</summary>
internal sealed record SseEvent(string? Id, string? Event, string Data);

/// <summary>
/// Splits a text/event-stream body into events as they arrive. Comment lines (keep-alives) are
/// skipped; an event with only an id and empty data (the priming event) is returned as is.
/// </summary>
internal sealed class SseReader(Stream body) : IDisposable
{
    private readonly StreamReader _reader = new(body, Encoding.UTF8);

    /// <summary>The next event, or null when the stream ends.</summary>
    public async Task<SseEvent?> ReadEventAsync(CancellationToken cancellationToken)
    {
        string? id = null;
        string? name = null;
        StringBuilder? data = null;
        var sawField = false;
        while (await _reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.Length == 0)
            {
                if (sawField)
                {
                    return new SseEvent(id, name, data?.ToString() ?? "");
                }
                continue;
            }
            if (line[0] == ':')
            {
                continue;
            }
            var colon = line.IndexOf(':');
            var field = colon < 0 ? line : line[..colon];
            var value = colon < 0 ? "" : line[(colon + 1)..];
            if (value.StartsWith(' '))
            {
                value = value[1..];
            }
            sawField = true;
            switch (field)
            {
                case "id":
                    id = value;
                    break;
                case "event":
                    name = value;
                    break;
                case "data":
                    data = data is null ? new StringBuilder(value) : data.Append('\n').Append(value);
                    break;
            }
        }
        return sawField ? new SseEvent(id, name, data?.ToString() ?? "") : null;
    }

    public void Dispose() => _reader.Dispose();
}
