using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using FastMcp.Text;

namespace FastMcp.Gateway.Hosting;

/// <summary>One exchange's access-log fields: references to strings the audit record already holds, and numbers.</summary>
internal struct AccessLogEntry
{
    public long UnixMicroseconds;
    public ulong TraceHigh, TraceLow;
    public bool HasTrace;
    public string? Subject, Client, Method, Tool, Decision, Rule;
    public int Status, UpstreamStatus;
    public long DurationMicroseconds, RequestBytes, ResponseBytes;
}

/// <summary>
/// The access log (log.access): one line per exchange, written by a background thread. The data path
/// only copies a fixed-size <see cref="AccessLogEntry"/> into a preallocated ring (no allocation, no
/// I/O, a short lock); when the ring is full the entry is dropped and counted
/// (fastmcp_access_log_dropped_total) rather than making a request wait. Fields come from the audit
/// record (method and tool from the masked copy of the request) and each line is card-masked again
/// before it is written.
/// </summary>
internal sealed class AccessLog : IDisposable
{
    /// <summary>The access log in force, or null when log.access is off.</summary>
    public static AccessLog? Current { get; set; }

    private static long s_dropped;
    private static long s_written;

    public static long Dropped => Volatile.Read(ref s_dropped);
    public static long Written => Volatile.Read(ref s_written);

    private readonly AccessLogEntry[] _ring;
    private readonly Lock _gate = new();
    private readonly Thread _writer;
    private readonly TextWriter? _output;
    private int _head, _count;
    private volatile bool _stopping;

    /// <param name="capacity">Entries held while the writer catches up.</param>
    /// <param name="output">Where lines go; null: the operational log's output (stderr).</param>
    public AccessLog(int capacity = 8192, TextWriter? output = null)
    {
        _ring = new AccessLogEntry[capacity];
        _output = output;
        _writer = new Thread(Drain) { IsBackground = true, Name = "fastmcp access log" };
        _writer.Start();
    }

    /// <summary>Hands an entry to the writer; false (and counted) when the ring is full.</summary>
    public bool TryEnqueue(in AccessLogEntry entry)
    {
        lock (_gate)
        {
            if (_count == _ring.Length)
            {
                Interlocked.Increment(ref s_dropped);
                return false;
            }
            _ring[(_head + _count) % _ring.Length] = entry;
            _count++;
        }
        return true;
    }

    private void Drain()
    {
        // 64 lines a block: its string (about 32 KB) stays out of the large-object heap.
        var batch = new AccessLogEntry[64];
        while (true)
        {
            int n;
            lock (_gate)
            {
                n = Math.Min(_count, batch.Length);
                for (int i = 0; i < n; i++)
                {
                    batch[i] = _ring[_head];
                    _ring[_head] = default; // drop the string references
                    _head = (_head + 1) % _ring.Length;
                }
                _count -= n;
            }
            if (n > 0)
            {
                // One block per drain: formatted into reused buffers, masked once, written with one call (one
                // write to stderr instead of one per line: per-line writes cost more CPU than the gateway's own work).
                string block = Log.MaskCards(FormatBlock(batch, n, Log.Json));
                if (_output is { } o) { lock (o) o.WriteLine(block); }
                else Log.WriteRaw(block);
                Interlocked.Add(ref s_written, n);
                Array.Clear(batch, 0, n);
            }
            if (n == 0)
            {
                if (_stopping) return;
                Thread.Sleep(20);
            }
        }
    }

    // The writer thread's reused buffers (only Drain uses them).
    private readonly StringBuilder _text = new(16 * 1024);
    private readonly ArrayBufferWriter<byte> _json = new(32 * 1024);
    private readonly Utf8JsonWriter _jsonWriter = new(Stream.Null);

    /// <summary>The lines of <paramref name="entries"/>[..count], separated by newlines (no trailing one).</summary>
    private string FormatBlock(AccessLogEntry[] entries, int count, bool json)
    {
        if (json)
        {
            _json.ResetWrittenCount();
            for (int i = 0; i < count; i++)
            {
                if (i > 0) _json.Write("\n"u8);
                _jsonWriter.Reset(_json);
                WriteJson(_jsonWriter, entries[i]);
                _jsonWriter.Flush();
            }
            return Encoding.UTF8.GetString(_json.WrittenSpan);
        }
        _text.Clear();
        for (int i = 0; i < count; i++)
        {
            if (i > 0) _text.Append('\n');
            AppendText(_text, entries[i]);
        }
        return _text.ToString();
    }

    /// <summary>The line: text (key=value, in the documented order) or a JSON object, following log.format.</summary>
    internal static string Format(in AccessLogEntry e, bool json)
    {
        if (json)
        {
            var buffer = new ArrayBufferWriter<byte>(512);
            using (var w = new Utf8JsonWriter(buffer)) WriteJson(w, e);
            return Encoding.UTF8.GetString(buffer.WrittenSpan);
        }
        var sb = new StringBuilder(256);
        AppendText(sb, e);
        return sb.ToString();
    }

    private static DateTime Time(in AccessLogEntry e) =>
        DateTimeOffset.FromUnixTimeMilliseconds(e.UnixMicroseconds / 1000).UtcDateTime.AddTicks(e.UnixMicroseconds % 1000 * 10);

    private static void WriteJson(Utf8JsonWriter w, in AccessLogEntry e)
    {
        Span<byte> time = stackalloc byte[32];
        Time(e).TryFormat(time, out int timeLength, "yyyy-MM-ddTHH:mm:ss.ffffffZ", CultureInfo.InvariantCulture);
        Span<byte> trace = stackalloc byte[32];
        int traceLength = 0;
        if (e.HasTrace)
        {
            e.TraceHigh.TryFormat(trace, out _, "x16", CultureInfo.InvariantCulture);
            e.TraceLow.TryFormat(trace[16..], out _, "x16", CultureInfo.InvariantCulture);
            traceLength = 32;
        }
        w.WriteStartObject();
        w.WriteString("time"u8, time[..timeLength]);
        w.WriteString("level"u8, "info"u8);
        w.WriteString("log"u8, "access"u8);
        w.WriteString("trace_id"u8, trace[..traceLength]);
        w.WriteString("subject"u8, e.Subject ?? "");
        w.WriteString("client"u8, e.Client ?? "");
        w.WriteString("method"u8, e.Method ?? "");
        w.WriteString("tool"u8, e.Tool ?? "");
        w.WriteString("decision"u8, e.Decision ?? "");
        w.WriteString("rule"u8, e.Rule ?? "");
        w.WriteNumber("status"u8, e.Status);
        w.WriteNumber("upstream_status"u8, e.UpstreamStatus);
        w.WriteNumber("duration_us"u8, e.DurationMicroseconds);
        w.WriteNumber("request_bytes"u8, e.RequestBytes);
        w.WriteNumber("response_bytes"u8, e.ResponseBytes);
        w.WriteEndObject();
    }

    private static void AppendText(StringBuilder sb, in AccessLogEntry e)
    {
        sb.Append(CultureInfo.InvariantCulture, $"{Time(e):yyyy-MM-ddTHH:mm:ss.ffffffZ}").Append(" access");
        sb.Append(" trace_id=");
        if (e.HasTrace) sb.Append(CultureInfo.InvariantCulture, $"{e.TraceHigh:x16}{e.TraceLow:x16}");
        else sb.Append("\"\"");
        Field(sb, "subject", e.Subject);
        Field(sb, "client", e.Client);
        Field(sb, "method", e.Method);
        Field(sb, "tool", e.Tool);
        Field(sb, "decision", e.Decision);
        Field(sb, "rule", e.Rule);
        sb.Append(" status=").Append(e.Status).Append(" upstream_status=").Append(e.UpstreamStatus)
          .Append(" duration_us=").Append(e.DurationMicroseconds).Append(" request_bytes=").Append(e.RequestBytes)
          .Append(" response_bytes=").Append(e.ResponseBytes);
    }

    /// <summary>
    /// key=value, quoted when the value is empty or holds a space or a quote, or anything PrintableText escapes (a quote
    /// inside written \", the rest as PrintableText writes them). A value to escape is masked first, so an escape never
    /// splits a card number the block's masking would otherwise find.
    /// </summary>
    private static void Field(StringBuilder sb, string key, string? value)
    {
        sb.Append(' ').Append(key).Append('=');
        value ??= "";
        bool escape = PrintableText.NeedsEscaping(value);
        if (!escape && value.Length > 0 && !value.AsSpan().ContainsAny(' ', '"'))
        {
            sb.Append(value);
            return;
        }
        sb.Append('"');
        PrintableText.Append(sb, escape ? Log.MaskCards(value) : value, quote: true);
        sb.Append('"');
    }

    public static void Render(StringBuilder sb)
    {
        sb.Append("# HELP fastmcp_access_log_dropped_total access-log lines dropped because the writer was behind (the ring was full)\n")
          .Append("# TYPE fastmcp_access_log_dropped_total counter\n")
          .Append("fastmcp_access_log_dropped_total ").Append(Dropped).Append('\n');
    }

    /// <summary>Writes what is queued, then stops the writer.</summary>
    public void Dispose()
    {
        _stopping = true;
        if (_writer.Join(TimeSpan.FromSeconds(5))) _jsonWriter.Dispose();
    }
}
