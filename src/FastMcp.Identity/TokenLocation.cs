namespace FastMcp.Identity;

/// <summary>Where a token may not be: OAuth 2.1 and the MCP spec forbid access tokens in the URI query.</summary>
public static class TokenLocation
{
    /// <summary>True when the request target's query has an <c>access_token</c> parameter (any case); such requests are refused.</summary>
    public static bool IsInQueryString(ReadOnlySpan<byte> requestTarget)
    {
        int q = requestTarget.IndexOf((byte)'?');
        if (q < 0)
            return false;
        var query = requestTarget[(q + 1)..];
        int hash = query.IndexOf((byte)'#');
        if (hash >= 0)
            query = query[..hash];
        while (!query.IsEmpty)
        {
            int amp = query.IndexOf((byte)'&');
            var pair = amp < 0 ? query : query[..amp];
            int eq = pair.IndexOf((byte)'=');
            var name = eq < 0 ? pair : pair[..eq];
            if (IsAccessTokenName(name))
                return true;
            query = amp < 0 ? default : query[(amp + 1)..];
        }
        return false;
    }

    // Matches "access_token" also when percent-encoded ("access%5Ftoken"), so encoding cannot smuggle it past us.
    private static bool IsAccessTokenName(ReadOnlySpan<byte> name)
    {
        ReadOnlySpan<byte> expected = "access_token"u8;
        int j = 0;
        for (int i = 0; i < name.Length; i++, j++)
        {
            if (j >= expected.Length)
                return false;
            byte c = name[i];
            if (c == (byte)'%' && i + 2 < name.Length && TryHex(name[i + 1], name[i + 2], out byte decoded))
            {
                c = decoded;
                i += 2;
            }
            if ((c | 0x20) != expected[j] && c != expected[j])
                return false;
        }
        return j == expected.Length;
    }

    private static bool TryHex(byte hi, byte lo, out byte value)
    {
        int h = HexValue(hi), l = HexValue(lo);
        value = (byte)((h << 4) | l);
        return h >= 0 && l >= 0;
    }

    private static int HexValue(byte c) => c switch
    {
        >= (byte)'0' and <= (byte)'9' => c - '0',
        >= (byte)'a' and <= (byte)'f' => c - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => c - 'A' + 10,
        _ => -1,
    };
}
