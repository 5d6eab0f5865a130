using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Google.Protobuf;

namespace FastMcp.Gateway.Tests.Support;

/// <summary>One span as an OTLP receiver decodes it (ids as lowercase hex; attributes as string or long).</summary>
internal sealed record ReceivedSpan(string TraceId, string SpanId, string ParentSpanId, string Name, int Kind, ulong StartUnixNanos, ulong EndUnixNanos,
    Dictionary<string, object> Attributes, int StatusCode, uint Flags, string ServiceName);

/// <summary>
/// A minimal OTLP/HTTP trace receiver on 127.0.0.1 (ephemeral port): raw HTTP/1.1 on a socket, and the
/// ExportTraceServiceRequest decoded field by field with Google.Protobuf's CodedInputStream, written from the
/// opentelemetry-proto field numbers (independent of the gateway's encoder). Answers each POST with the status
/// <see cref="Answer"/> gives (200 unless told otherwise).
/// </summary>
internal sealed class OtlpReceiver : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _accepting;
    private int _posts;

    public OtlpReceiver()
    {
        _listener.Start();
        _accepting = AcceptLoopAsync();
    }

    public string Url => $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/v1/traces";
    public ConcurrentQueue<ReceivedSpan> Spans { get; } = new();
    public ConcurrentQueue<byte[]> Bodies { get; } = new();
    public ConcurrentQueue<string> ContentTypes { get; } = new();
    public int Posts => Volatile.Read(ref _posts);

    /// <summary>The status for the n-th POST (1-based).</summary>
    public Func<int, int> Answer { get; set; } = _ => 200;

    /// <summary>Waits until spans of <paramref name="traceId"/> satisfy <paramref name="done"/>; returns them.</summary>
    public async Task<List<ReceivedSpan>> WaitForTraceAsync(string traceId, Func<List<ReceivedSpan>, bool> done, int timeoutMs = 15_000)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            List<ReceivedSpan> spans = [.. Spans.Where(s => s.TraceId == traceId)];
            if (done(spans)) return spans;
            if (clock.ElapsedMilliseconds > timeoutMs) throw new Xunit.Sdk.XunitException($"spans of trace {traceId}: {spans.Count} after {timeoutMs} ms: {string.Join(", ", spans.Select(s => s.Name))}");
            await Task.Delay(20);
        }
    }

    private async Task AcceptLoopAsync()
    {
        try
        {
            while (true)
            {
                Socket s = await _listener.AcceptSocketAsync(_stopping.Token);
                _ = ServeAsync(s);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException) { }
    }

    private async Task ServeAsync(Socket socket)
    {
        using var stream = new NetworkStream(socket, ownsSocket: true);
        var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        try
        {
            while (true)
            {
                int headEnd;
                while ((headEnd = IndexOf(buffer, "\r\n\r\n"u8)) < 0)
                {
                    int n = await stream.ReadAsync(chunk, _stopping.Token);
                    if (n == 0) return;
                    buffer.Write(chunk, 0, n);
                }
                string head = Encoding.ASCII.GetString(buffer.GetBuffer(), 0, headEnd);
                int length = 0;
                string contentType = "";
                foreach (string line in head.Split("\r\n"))
                {
                    if (line.StartsWith("content-length:", StringComparison.OrdinalIgnoreCase)) length = int.Parse(line[15..].Trim());
                    if (line.StartsWith("content-type:", StringComparison.OrdinalIgnoreCase)) contentType = line[13..].Trim();
                }
                while (buffer.Length < headEnd + 4 + length)
                {
                    int n = await stream.ReadAsync(chunk, _stopping.Token);
                    if (n == 0) return;
                    buffer.Write(chunk, 0, n);
                }
                byte[] body = buffer.GetBuffer().AsSpan(headEnd + 4, length).ToArray();
                byte[] rest = buffer.GetBuffer().AsSpan(headEnd + 4 + length, (int)buffer.Length - headEnd - 4 - length).ToArray();
                buffer.SetLength(0);
                buffer.Write(rest);
                int status = Answer(Interlocked.Increment(ref _posts));
                Bodies.Enqueue(body);
                ContentTypes.Enqueue(contentType);
                if (status == 200) foreach (ReceivedSpan span in Decode(body)) Spans.Enqueue(span);
                string reason = status == 200 ? "OK" : "Unavailable";
                await stream.WriteAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 {status} {reason}\r\nContent-Type: application/x-protobuf\r\nContent-Length: 0\r\n{(status == 200 ? "" : "Retry-After: 0\r\n")}\r\n"), _stopping.Token);
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException or SocketException) { }
    }

    private static int IndexOf(MemoryStream m, ReadOnlySpan<byte> needle) => m.GetBuffer().AsSpan(0, (int)m.Length).IndexOf(needle);

    // ---- opentelemetry/proto, decoded by field number -------------------------------------------

    public static List<ReceivedSpan> Decode(byte[] body)
    {
        var spans = new List<ReceivedSpan>();
        var request = new CodedInputStream(body);
        uint tag;
        while ((tag = request.ReadTag()) != 0)
        {
            if (WireFormat.GetTagFieldNumber(tag) != 1) { request.SkipLastField(); continue; } // resource_spans
            var resourceSpans = new CodedInputStream(request.ReadBytes().ToByteArray());
            string service = "";
            var scopeSpansList = new List<byte[]>();
            while ((tag = resourceSpans.ReadTag()) != 0)
            {
                switch (WireFormat.GetTagFieldNumber(tag))
                {
                    case 1: // resource
                        var resource = new CodedInputStream(resourceSpans.ReadBytes().ToByteArray());
                        while ((tag = resource.ReadTag()) != 0)
                        {
                            if (WireFormat.GetTagFieldNumber(tag) != 1) { resource.SkipLastField(); continue; }
                            (string key, object value) = KeyValue(resource.ReadBytes().ToByteArray());
                            if (key == "service.name") service = (string)value;
                        }
                        break;
                    case 2: scopeSpansList.Add(resourceSpans.ReadBytes().ToByteArray()); break;
                    default: resourceSpans.SkipLastField(); break;
                }
            }
            foreach (byte[] scopeSpansBytes in scopeSpansList)
            {
                var scopeSpans = new CodedInputStream(scopeSpansBytes);
                while ((tag = scopeSpans.ReadTag()) != 0)
                {
                    if (WireFormat.GetTagFieldNumber(tag) != 2) { scopeSpans.SkipLastField(); continue; }
                    spans.Add(Span(scopeSpans.ReadBytes().ToByteArray(), service));
                }
            }
        }
        return spans;
    }

    private static ReceivedSpan Span(byte[] bytes, string service)
    {
        var s = new CodedInputStream(bytes);
        string traceId = "", spanId = "", parent = "", name = "";
        int kind = 0, statusCode = 0;
        ulong start = 0, end = 0;
        uint flags = 0;
        var attributes = new Dictionary<string, object>();
        uint tag;
        while ((tag = s.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1: traceId = Convert.ToHexStringLower(s.ReadBytes().ToByteArray()); break;
                case 2: spanId = Convert.ToHexStringLower(s.ReadBytes().ToByteArray()); break;
                case 4: parent = Convert.ToHexStringLower(s.ReadBytes().ToByteArray()); break;
                case 5: name = s.ReadString(); break;
                case 6: kind = s.ReadEnum(); break;
                case 7: start = s.ReadFixed64(); break;
                case 8: end = s.ReadFixed64(); break;
                case 9:
                    (string key, object value) = KeyValue(s.ReadBytes().ToByteArray());
                    attributes[key] = value;
                    break;
                case 15:
                    var status = new CodedInputStream(s.ReadBytes().ToByteArray());
                    while ((tag = status.ReadTag()) != 0)
                    {
                        if (WireFormat.GetTagFieldNumber(tag) == 3) statusCode = status.ReadEnum();
                        else status.SkipLastField();
                    }
                    break;
                case 16: flags = s.ReadFixed32(); break;
                default: s.SkipLastField(); break;
            }
        }
        return new ReceivedSpan(traceId, spanId, parent, name, kind, start, end, attributes, statusCode, flags, service);
    }

    private static (string Key, object Value) KeyValue(byte[] bytes)
    {
        var kv = new CodedInputStream(bytes);
        string key = "";
        object value = "";
        uint tag;
        while ((tag = kv.ReadTag()) != 0)
        {
            if (WireFormat.GetTagFieldNumber(tag) == 1) key = kv.ReadString();
            else if (WireFormat.GetTagFieldNumber(tag) == 2)
            {
                var any = new CodedInputStream(kv.ReadBytes().ToByteArray());
                while ((tag = any.ReadTag()) != 0)
                {
                    switch (WireFormat.GetTagFieldNumber(tag))
                    {
                        case 1: value = any.ReadString(); break;
                        case 2: value = any.ReadBool(); break;
                        case 3: value = any.ReadInt64(); break;
                        default: any.SkipLastField(); break;
                    }
                }
            }
            else kv.SkipLastField();
        }
        return (key, value);
    }

    public async ValueTask DisposeAsync()
    {
        _stopping.Cancel();
        _listener.Stop();
        await _accepting;
        _stopping.Dispose();
    }
}
