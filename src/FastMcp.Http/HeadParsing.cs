namespace FastMcp.Http;

/// <summary>Header-section rules shared by request and response heads.</summary>
internal static class HeadParsing
{
    /// <summary>Parses "name: value" CRLF lines from <paramref name="start"/> up to the empty line.</summary>
    public static HttpRejectReason ParseHeaderLines(byte[] buffer, int start, int end, HttpHeaderTable headers)
    {
        int pos = start;
        while (pos < end)
        {
            ReadOnlySpan<byte> rest = buffer.AsSpan(pos, end - pos);
            int lf = rest.IndexOf((byte)'\n');
            if (lf < 0) return HttpRejectReason.InvalidHeaderLine;
            if (lf == 0 || rest[lf - 1] != (byte)'\r') return HttpRejectReason.InvalidHeaderLine;
            ReadOnlySpan<byte> line = rest[..(lf - 1)];
            if (line.IsEmpty) return pos + lf + 1 == end ? HttpRejectReason.None : HttpRejectReason.InvalidHeaderLine;
            if (line[0] == (byte)' ' || line[0] == (byte)'\t') return HttpRejectReason.HeaderFolding;
            int colon = line.IndexOf((byte)':');
            if (colon <= 0) return HttpRejectReason.InvalidHeaderLine;
            ReadOnlySpan<byte> name = line[..colon];
            // No whitespace is allowed between name and colon (RFC 9112 5.1): a classic smuggling trick.
            if (!HttpTokens.IsToken(name)) return HttpRejectReason.InvalidHeaderName;
            ReadOnlySpan<byte> rawValue = line[(colon + 1)..];
            if (rawValue.ContainsAny(HttpTokens.InvalidValueChars))
                return rawValue.Contains((byte)'\r') ? HttpRejectReason.BareCarriageReturn : HttpRejectReason.InvalidHeaderValue;
            ReadOnlySpan<byte> value = HttpTokens.TrimOws(rawValue);
            int valueStart = value.IsEmpty ? pos + colon + 1 : pos + colon + 1 + LeadingWhitespace(rawValue);
            if (!headers.TryAdd(pos, colon, valueStart, value.Length, KnownHeaders.Classify(name)))
                return HttpRejectReason.TooManyHeaders;
            pos += lf + 1;
        }
        return HttpRejectReason.InvalidHeaderLine;
    }

    private static int LeadingWhitespace(ReadOnlySpan<byte> outer)
    {
        int lead = 0;
        while (lead < outer.Length && (outer[lead] == (byte)' ' || outer[lead] == (byte)'\t')) lead++;
        return lead;
    }

    /// <summary>
    /// Merges one Content-Length field value (possibly a comma list) into <paramref name="length"/>:
    /// identical repeats are tolerated, differing ones are a smuggling attempt.
    /// </summary>
    public static HttpRejectReason MergeContentLength(ReadOnlySpan<byte> value, ref long length)
    {
        while (true)
        {
            int comma = value.IndexOf((byte)',');
            ReadOnlySpan<byte> item = HttpTokens.TrimOws(comma < 0 ? value : value[..comma]);
            if (!HttpTokens.TryParseDecimal(item, out long parsed)) return HttpRejectReason.InvalidContentLength;
            if (length >= 0 && length != parsed) return HttpRejectReason.ConflictingContentLength;
            length = parsed;
            if (comma < 0) return HttpRejectReason.None;
            value = value[(comma + 1)..];
        }
    }
}
