namespace FastMcp.Testing;

/// <summary>
/// Text a hostile peer chooses to forge a log line or drive a terminal: a line break followed by a whole forged
/// line, a carriage return and an erase-line (CSI 2K), an OSC 8 hyperlink, an OSC 52 clipboard write, DEL, C1
/// controls (NEL, the 8-bit CSI), the line and paragraph separators, a right-to-left override, a backslash that
/// looks like an escape and a tab. <see cref="Escaped"/> is how every human-readable sink must print it.
/// </summary>
internal static class HostileText
{
    /// <summary>The line the peer tries to forge (it must never start a line of output).</summary>
    public const string ForgedLine = "2026-12-07T00:00:00.000000Z error audit chain verified ok";

    public const string Raw = "fx\n" + ForgedLine + "\r\u001b[2K\u001b]8;;http://e/\u0007l\u001b]8;;\u0007\u001b]52;c;eA==\u0007"
        + "\u007f\u0085\u009b\u2028\u2029\u202e\\n\t";

    public const string Escaped = @"fx\n" + ForgedLine + @"\r\x1b[2K\x1b]8;;http://e/\x07l\x1b]8;;\x07\x1b]52;c;eA==\x07"
        + @"\x7f\x85\x9b\u2028\u2029\u202e\\n\t";

    /// <summary><see cref="Raw"/> as a JSON string literal (quotes included), every control written as an escape.</summary>
    public static string Json => System.Text.Json.JsonSerializer.Serialize(Raw);

    /// <summary>Fails when any line of <paramref name="output"/> holds a character no printed line may hold, or starts with the forged line.</summary>
    public static void AssertPrintable(string output)
    {
        foreach (string line in output.Split('\n'))
        {
            if (line.StartsWith(ForgedLine, StringComparison.Ordinal)) throw new Xunit.Sdk.XunitException($"a forged line was printed:\n{output}");
            for (int i = 0; i < line.Length; i++)
            {
                char c = line[i];
                if (c < ' ' || c is >= '\u007f' and <= '\u009f' or '\u2028' or '\u2029' or '\u202e')
                    throw new Xunit.Sdk.XunitException($"U+{(int)c:X4} printed raw at {i} of: {line}");
            }
        }
    }
}
