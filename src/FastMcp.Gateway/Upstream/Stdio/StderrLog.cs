using System.Text;
using FastMcp.Gateway.Hosting;

namespace FastMcp.Gateway.Upstream.Stdio;

/// <summary>
/// Copies a stdio server's stderr into the gateway log one line at a time, prefixed with the upstream
/// and session, at most <see cref="StdioEvents.Burst"/> lines per interval for the upstream (the rest counted). A line is cut at <see cref="MaxLineBytes"/> (the rest up to its newline is dropped),
/// so a server that never writes a newline cannot grow the gateway's memory. The log masks card
/// numbers; a cut line first loses the digits it ends with, since the head of a cut card number is
/// no card number the masker can find.
/// </summary>
internal static class StderrLog
{
    public const int MaxLineBytes = 2048;

    public static async Task PumpAsync(Stream stderr, string prefix, StdioEventLog events)
    {
        byte[] line = new byte[MaxLineBytes];
        byte[] buffer = new byte[4096];
        int length = 0;
        bool truncated = false;
        try
        {
            while (true)
            {
                int read = await stderr.ReadAsync(buffer).ConfigureAwait(false);
                if (read == 0) break;
                for (int i = 0; i < read; i++)
                {
                    byte b = buffer[i];
                    if (b == (byte)'\n')
                    {
                        Emit(prefix, line, length, truncated, events);
                        length = 0;
                        truncated = false;
                    }
                    else if (length < MaxLineBytes) line[length++] = b;
                    else truncated = true;
                }
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
        }
        if (length > 0) Emit(prefix, line, length, truncated, events);
    }

    private static void Emit(string prefix, byte[] line, int length, bool truncated, StdioEventLog events)
    {
        // A server that logs each call would otherwise write a gateway line per request: past the budget, only counted.
        if (!events.Count(StdioEvent.StderrLine, out int held)) return;
        if (length > 0 && line[length - 1] == (byte)'\r') length--;
        if (truncated) length = WithoutTrailingDigits(line, length);
        // Control characters would let a server forge log lines or terminal escapes.
        var text = new StringBuilder(Encoding.UTF8.GetString(line, 0, length));
        for (int i = 0; i < text.Length; i++)
        {
            if (char.IsControl(text[i]) && text[i] != '\t') text[i] = '?';
        }
        if (truncated) text.Append(" [line cut at ").Append(MaxLineBytes).Append(" bytes]");
        Log.Info($"{prefix} stderr: {text}" + LogRateLimit.Held(held));
    }

    /// <summary>
    /// The length of the line without the run of digits and separators it ends with. Any non-ASCII byte counts as
    /// part of the run: digits of other scripts and typographic spaces are multi-byte, and a cut may split one.
    /// The run is at most as long as the longest spaced card number in the widest digits (19 three-byte digits and 18
    /// three-byte separators).
    /// </summary>
    private static int WithoutTrailingDigits(byte[] line, int length)
    {
        const int MaxRun = 19 * 3 + 18 * 3;
        int end = length;
        while (end > 0 && length - end < MaxRun && IsDigitOrSeparator(line[end - 1])) end--;
        return end;
    }

    private static bool IsDigitOrSeparator(byte b) => b is (>= (byte)'0' and <= (byte)'9') or (byte)' ' or (byte)'-' or >= 0x80;
}
