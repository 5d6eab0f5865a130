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
            // One search finds both the line's end and whether it holds a byte no field value may: when the first such
            // byte is the CR of a CRLF, the line is clean, which is what the search for LF and then for those bytes in the
            // value found apart. Any other first such byte takes the checks below one by one, for their reject reasons.
            int lf, stop = rest.IndexOfAny(HttpTokens.InvalidValueChars);
            bool clean = stop >= 0 && rest[stop] == (byte)'\r' && stop + 1 < rest.Length && rest[stop + 1] == (byte)'\n';
            if (clean) lf = stop + 1;
            else
            {
                lf = rest.IndexOf((byte)'\n');
                if (lf < 0) return HttpRejectReason.InvalidHeaderLine;
                if (lf == 0 || rest[lf - 1] != (byte)'\r') return HttpRejectReason.InvalidHeaderLine;
            }
            ReadOnlySpan<byte> line = rest[..(lf - 1)];
            if (line.IsEmpty) return pos + lf + 1 == end ? HttpRejectReason.None : HttpRejectReason.InvalidHeaderLine;
            if (line[0] == (byte)' ' || line[0] == (byte)'\t') return HttpRejectReason.HeaderFolding;
            int colon = line.IndexOf((byte)':');
            if (colon <= 0) return HttpRejectReason.InvalidHeaderLine;
            ReadOnlySpan<byte> name = line[..colon];
            // No whitespace is allowed between name and colon (RFC 9112 5.1): a classic smuggling trick.
            if (!HttpTokens.IsToken(name)) return HttpRejectReason.InvalidHeaderName;
            ReadOnlySpan<byte> rawValue = line[(colon + 1)..];
            if (!clean && rawValue.ContainsAny(HttpTokens.InvalidValueChars))
                return rawValue.Contains((byte)'\r') ? HttpRejectReason.BareCarriageReturn : HttpRejectReason.InvalidHeaderValue;
            // The value without its optional whitespace (HttpTokens.TrimOws), its leading part measured once.
            int lead = 0, trail = rawValue.Length;
            while (lead < trail && (rawValue[lead] == (byte)' ' || rawValue[lead] == (byte)'\t')) lead++;
            while (trail > lead && (rawValue[trail - 1] == (byte)' ' || rawValue[trail - 1] == (byte)'\t')) trail--;
            int valueStart = trail == lead ? pos + colon + 1 : pos + colon + 1 + lead;
            if (!headers.TryAdd(pos, colon, valueStart, trail - lead, KnownHeaders.Classify(name)))
                return HttpRejectReason.TooManyHeaders;
            pos += lf + 1;
        }
        return HttpRejectReason.InvalidHeaderLine;
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
