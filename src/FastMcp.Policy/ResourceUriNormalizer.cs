namespace FastMcp.Policy;

/// <summary>
/// Brings a resource URI to one spelling before the policy compares it (RFC 3986 section 6.2.2), so that
/// <c>file:///tmp/../etc/passwd</c>, <c>FILE://localhost/etc/passwd</c> and <c>file:///%65tc/passwd</c> all meet a
/// rule written for <c>file:///etc/*</c>:
/// the scheme and host are lower-cased, <c>file://localhost/</c> is <c>file:///</c>, percent-encoded unreserved
/// characters are decoded and other percent-encodings upper-cased, and dot segments are removed from the path
/// (RFC 3986 5.2.4). What has no single meaning is refused rather than guessed at: no scheme, a malformed or NUL
/// percent-encoding, an encoded or raw backslash, and an encoded slash in the path (servers that decode it would
/// see another path than the policy did). Works in the caller's buffer; allocates nothing.
/// </summary>
public static class ResourceUriNormalizer
{
    /// <summary>
    /// Writes the normalized form of <paramref name="uri"/> into <paramref name="destination"/> (which needs
    /// <paramref name="uri"/>'s length at most: normalizing never lengthens). False: refuse the call.
    /// </summary>
    public static bool TryNormalize(ReadOnlySpan<byte> uri, Span<byte> destination, out int written)
    {
        written = 0;
        if (destination.Length < uri.Length) return false;

        // scheme ":" (RFC 3986 3.1): ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
        int colon = uri.IndexOf((byte)':');
        if (colon <= 0 || !IsAsciiLetter(uri[0])) return false;
        for (int i = 0; i < colon; i++)
        {
            byte c = uri[i];
            if (!(IsAsciiLetter(c) || IsDigit(c) || c is (byte)'+' or (byte)'-' or (byte)'.')) return false;
            destination[written++] = ToLower(c);
        }
        destination[written++] = (byte)':';
        ReadOnlySpan<byte> scheme = destination[..(written - 1)];
        ReadOnlySpan<byte> rest = uri[(colon + 1)..];

        // Split hier-part, query and fragment; dot segments are removed from the path only.
        int queryOrFragment = rest.IndexOfAny((byte)'?', (byte)'#');
        ReadOnlySpan<byte> hier = queryOrFragment < 0 ? rest : rest[..queryOrFragment];
        ReadOnlySpan<byte> tail = queryOrFragment < 0 ? default : rest[queryOrFragment..];

        if (hier.StartsWith("//"u8))
        {
            ReadOnlySpan<byte> afterSlashes = hier[2..];
            int pathStart = afterSlashes.IndexOf((byte)'/');
            ReadOnlySpan<byte> authority = pathStart < 0 ? afterSlashes : afterSlashes[..pathStart];
            hier = pathStart < 0 ? default : afterSlashes[pathStart..];
            destination[written++] = (byte)'/';
            destination[written++] = (byte)'/';
            int authorityStart = written;
            if (!CopyNormalized(authority, destination, ref written, lowerCase: true, inPath: false)) return false;
            // RFC 8089 2: "file://localhost/p" and "file:///p" name the same file.
            if (scheme.SequenceEqual("file"u8) && destination[authorityStart..written].SequenceEqual("localhost"u8)) written = authorityStart;
        }

        int pathBegin = written;
        if (!CopyNormalized(hier, destination, ref written, lowerCase: false, inPath: true)) return false;
        written = pathBegin + RemoveDotSegments(destination[pathBegin..written]);
        return CopyNormalized(tail, destination, ref written, lowerCase: false, inPath: false);
    }

    /// <summary>Copies <paramref name="part"/>, decoding percent-encoded unreserved characters and upper-casing the rest.</summary>
    private static bool CopyNormalized(ReadOnlySpan<byte> part, Span<byte> destination, ref int written, bool lowerCase, bool inPath)
    {
        for (int i = 0; i < part.Length; i++)
        {
            byte c = part[i];
            if (c == (byte)'\\' || c < 0x21 || c == 0x7F) return false; // backslash, controls, spaces: no single meaning
            if (c != (byte)'%')
            {
                destination[written++] = lowerCase ? ToLower(c) : c;
                continue;
            }
            if (i + 2 >= part.Length || HexValue(part[i + 1]) is not int high || HexValue(part[i + 2]) is not int low) return false;
            byte decoded = (byte)(high << 4 | low);
            if (decoded is 0 or (byte)'\\') return false;
            if (inPath && decoded == (byte)'/') return false; // a server that decodes it walks another path
            if (IsUnreserved(decoded))
            {
                destination[written++] = lowerCase ? ToLower(decoded) : decoded;
            }
            else
            {
                destination[written++] = (byte)'%';
                destination[written++] = ToUpperHex(part[i + 1]);
                destination[written++] = ToUpperHex(part[i + 2]);
            }
            i += 2;
        }
        return true;
    }

    /// <summary>RFC 3986 5.2.4, in place; returns the new length.</summary>
    internal static int RemoveDotSegments(Span<byte> path)
    {
        int input = 0, output = 0;
        while (input < path.Length)
        {
            ReadOnlySpan<byte> rest = path[input..];
            if (rest.StartsWith("../"u8)) { input += 3; continue; }                       // A
            if (rest.StartsWith("./"u8)) { input += 2; continue; }
            if (rest.StartsWith("/./"u8)) { input += 2; continue; }                       // B
            if (rest.SequenceEqual("/."u8)) { path[input + 1] = (byte)'/'; input += 1; continue; }
            if (rest.StartsWith("/../"u8) || rest.SequenceEqual("/.."u8))               // C
            {
                if (rest.Length == 3) { input += 2; path[input] = (byte)'/'; }
                else input += 3;
                int last = path[..output].LastIndexOf((byte)'/');
                output = last < 0 ? 0 : last;
                continue;
            }
            if (rest.SequenceEqual("."u8) || rest.SequenceEqual(".."u8)) break;          // D
            int next = rest.Length > 1 ? rest[1..].IndexOf((byte)'/') : -1;             // E
            int segment = next < 0 ? rest.Length : next + 1;
            rest[..segment].CopyTo(path[output..]);
            output += segment;
            input += segment;
        }
        return output;
    }

    private static bool IsAsciiLetter(byte c) => (uint)((c | 0x20) - 'a') <= 'z' - 'a';
    private static bool IsDigit(byte c) => (uint)(c - '0') <= 9;
    private static byte ToLower(byte c) => (uint)(c - 'A') <= 'Z' - 'A' ? (byte)(c | 0x20) : c;
    private static byte ToUpperHex(byte c) => (uint)(c - 'a') <= 'f' - 'a' ? (byte)(c - 0x20) : c;
    private static bool IsUnreserved(byte c) => IsAsciiLetter(c) || IsDigit(c) || c is (byte)'-' or (byte)'.' or (byte)'_' or (byte)'~';

    private static int? HexValue(byte c) => c switch
    {
        >= (byte)'0' and <= (byte)'9' => c - '0',
        >= (byte)'a' and <= (byte)'f' => c - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => c - 'A' + 10,
        _ => null,
    };
}
