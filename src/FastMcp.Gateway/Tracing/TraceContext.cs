using System.Buffers;
using System.Runtime.Intrinsics;
using FastMcp.Http;

namespace FastMcp.Gateway.Tracing;

/// <summary>
/// The W3C trace context of one exchange: the trace it belongs to (continued from a valid incoming
/// traceparent, else started here), the caller's span (the parent; zero when the gateway started the
/// trace) and the gateway's own span, whose id the upstream receives as its parent. A value type kept
/// in the exchange, so propagating it allocates nothing.
/// </summary>
internal struct TraceContext
{
    public ulong TraceHigh, TraceLow;
    public ulong ParentSpanId;
    public ulong SpanId;
    /// <summary>The sampled flag (bit 0 of trace-flags): the caller's when continued.</summary>
    public bool Sampled;
    /// <summary>True when the trace came from a valid incoming traceparent.</summary>
    public bool Continued;

    public readonly bool IsValid => TraceHigh != 0 || TraceLow != 0;

    /// <summary>
    /// Continues the client's traceparent when it is well formed, else starts a new trace (a malformed
    /// one is ignored: it is neither trusted nor forwarded). Either way the gateway's span id is new.
    /// </summary>
    public static TraceContext Begin(HttpHeaderTable headers, bool sampleNewTraces)
    {
        var context = new TraceContext { SpanId = NewNonZero() };
        if (headers.TryGet("traceparent"u8, out ReadOnlySpan<byte> incoming)
            && TryParse(incoming, out context.TraceHigh, out context.TraceLow, out context.ParentSpanId, out context.Sampled))
        {
            context.Continued = true;
            return context;
        }
        context.TraceHigh = NewNonZero();
        context.TraceLow = (ulong)Random.Shared.NextInt64(long.MinValue, long.MaxValue);
        context.Sampled = sampleNewTraces;
        return context;
    }

    /// <summary>
    /// Parses a version-00 traceparent ("00-&lt;32 hex&gt;-&lt;16 hex&gt;-&lt;2 hex&gt;", lowercase hex).
    /// All-zero trace or span ids and version ff are invalid (W3C Trace Context §3.2); a future version
    /// may append fields after a dash, which are ignored.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> value, out ulong traceHigh, out ulong traceLow, out ulong parentSpanId, out bool sampled)
    {
        traceHigh = traceLow = parentSpanId = 0;
        sampled = false;
        value = value.Trim((byte)' ');
        if (value.Length < 55 || value[2] != (byte)'-' || value[35] != (byte)'-' || value[52] != (byte)'-') return false;
        if (!TryHex(value[..2], out ulong version) || version == 0xff) return false;
        if (version == 0 ? value.Length != 55 : value.Length > 55 && value[55] != (byte)'-') return false;
        if (!TryHex(value.Slice(3, 16), out traceHigh) || !TryHex(value.Slice(19, 16), out traceLow)
            || !TryHex(value.Slice(36, 16), out parentSpanId) || !TryHex(value.Slice(53, 2), out ulong flags))
        {
            traceHigh = traceLow = parentSpanId = 0;
            return false;
        }
        if ((traceHigh == 0 && traceLow == 0) || parentSpanId == 0)
        {
            traceHigh = traceLow = parentSpanId = 0;
            return false;
        }
        sampled = (flags & 1) != 0;
        return true;
    }

    /// <summary>Writes the traceparent the upstream receives: this trace, the gateway's span as parent.</summary>
    public readonly void WriteHeaderLine(IBufferWriter<byte> output) => output.Advance(WriteHeaderLine(output.GetSpan(HeaderLineLength)));

    /// <summary>Writes the traceparent line into <paramref name="line"/> (at least <see cref="HeaderLineLength"/> bytes); returns its length.</summary>
    public readonly int WriteHeaderLine(Span<byte> line)
    {
        "traceparent: 00-"u8.CopyTo(line);
        int at = 16;
        WriteHex(line.Slice(at, 16), TraceHigh); at += 16;
        WriteHex(line.Slice(at, 16), TraceLow); at += 16;
        line[at++] = (byte)'-';
        WriteHex(line.Slice(at, 16), SpanId); at += 16;
        line[at++] = (byte)'-';
        line[at++] = (byte)'0';
        line[at++] = Sampled ? (byte)'1' : (byte)'0';
        line[at++] = (byte)'\r';
        line[at++] = (byte)'\n';
        return at;
    }

    /// <summary>Writes the 32 lowercase hex digits of the trace id.</summary>
    public readonly void WriteTraceId(Span<byte> destination)
    {
        WriteHex(destination[..16], TraceHigh);
        WriteHex(destination.Slice(16, 16), TraceLow);
    }

    /// <summary>The traceparent line's length, CRLF included.</summary>
    public const int HeaderLineLength = 16 + 32 + 1 + 16 + 1 + 2 + 2;

    private static ulong NewNonZero()
    {
        ulong v;
        do v = (ulong)Random.Shared.NextInt64(long.MinValue, long.MaxValue); while (v == 0);
        return v;
    }

    private static bool TryHex(ReadOnlySpan<byte> digits, out ulong value)
    {
        value = 0;
        foreach (byte b in digits)
        {
            int v = b switch
            {
                >= (byte)'0' and <= (byte)'9' => b - '0',
                >= (byte)'a' and <= (byte)'f' => b - 'a' + 10,
                _ => -1,
            };
            if (v < 0) return false;
            value = (value << 4) | (uint)v;
        }
        return true;
    }

    private static void WriteHex(Span<byte> destination, ulong value)
    {
        if (System.Runtime.Intrinsics.X86.Ssse3.IsSupported && destination.Length >= 16)
        {
            // The 8 bytes most significant first, each split into its two nibbles, looked up in one shuffle: a digit at a
            // time cost ~9 instructions each, 48 digits per upstream head (issue #14).
            Vector128<byte> bytes = Vector128.CreateScalar(System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(value)).AsByte();
            Vector128<byte> nibbles = System.Runtime.Intrinsics.X86.Sse2.UnpackLow(Vector128.ShiftRightLogical(bytes, 4) & Vector128.Create((byte)0x0f),
                bytes & Vector128.Create((byte)0x0f));
            System.Runtime.Intrinsics.X86.Ssse3.Shuffle(HexDigits, nibbles).StoreUnsafe(ref System.Runtime.InteropServices.MemoryMarshal.GetReference(destination));
            return;
        }
        for (int i = 15; i >= 0; i--)
        {
            destination[i] = (byte)"0123456789abcdef"[(int)(value & 0xf)];
            value >>= 4;
        }
    }

    private static Vector128<byte> HexDigits => Vector128.Create("0123456789abcdef"u8);
}
