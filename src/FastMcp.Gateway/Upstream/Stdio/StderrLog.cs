using System.Text;
using FastMcp.Gateway.Hosting;

namespace FastMcp.Gateway.Upstream.Stdio;

/// <summary>
/// Copies a stdio server's stderr into the gateway log one line at a time, prefixed with the upstream
/// and session. A line is cut at <see cref="MaxLineBytes"/> (the rest up to its newline is dropped),
/// so a server that never writes a newline cannot grow the gateway's memory.
/// </summary>
internal static class StderrLog
{
    public const int MaxLineBytes = 2048;

    public static async Task PumpAsync(Stream stderr, string prefix)
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
                        Emit(prefix, line, length, truncated);
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
        if (length > 0) Emit(prefix, line, length, truncated);
    }

    private static void Emit(string prefix, byte[] line, int length, bool truncated)
    {
        if (length > 0 && line[length - 1] == (byte)'\r') length--;
        // Control characters would let a server forge log lines or terminal escapes.
        var text = new StringBuilder(Encoding.UTF8.GetString(line, 0, length));
        for (int i = 0; i < text.Length; i++)
        {
            if (char.IsControl(text[i]) && text[i] != '\t') text[i] = '?';
        }
        if (truncated) text.Append(" [line cut at ").Append(MaxLineBytes).Append(" bytes]");
        Log.Info($"{prefix} stderr: {text}");
    }
}
