namespace FastMcp.Audit.Recording;

/// <summary>A cheap proof that a JSON-RPC id's raw bytes are one JSON value, for the ids nearly every call has.</summary>
internal static class JsonRpcIds
{
    /// <summary>
    /// True only for a JSON integer without a leading zero (at most 19 digits) or a string of printable ASCII without
    /// a quote or backslash inside: each is one JSON value. False says nothing (the reader then decides).
    /// </summary>
    public static bool IsPlainValue(ReadOnlySpan<byte> raw)
    {
        if (raw.Length < 1 || raw.Length > 128) return false;
        if (raw[0] == (byte)'"')
        {
            if (raw.Length < 2 || raw[^1] != (byte)'"') return false;
            foreach (byte b in raw[1..^1])
            {
                if (b < 0x20 || b > 0x7E || b == (byte)'"' || b == (byte)'\\') return false;
            }
            return true;
        }
        ReadOnlySpan<byte> digits = raw[0] == (byte)'-' ? raw[1..] : raw;
        if (digits.IsEmpty || digits.Length > 19 || (digits[0] == (byte)'0' && digits.Length > 1)) return false;
        foreach (byte b in digits)
        {
            if ((uint)(b - '0') > 9) return false;
        }
        return true;
    }
}
