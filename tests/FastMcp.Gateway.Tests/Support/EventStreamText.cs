namespace FastMcp.Gateway.Tests.Support;

/// <summary>What a client reads from a text/event-stream body.</summary>
public static class EventStreamText
{
    /// <summary>The data of each event, its data lines joined with LF as a reader joins them; events without data are left out.</summary>
    public static List<string> EventData(string stream)
    {
        var events = new List<string>();
        foreach (string evt in stream.Replace("\r\n", "\n").Split("\n\n", StringSplitOptions.RemoveEmptyEntries))
        {
            string[] data = [.. evt.Split('\n').Where(l => l.StartsWith("data", StringComparison.Ordinal))
                .Select(l => l.Length == 4 ? "" : l[5..].StartsWith(' ') ? l[6..] : l[5..])];
            if (data.Length > 0) events.Add(string.Join("\n", data));
        }
        return events;
    }
}
