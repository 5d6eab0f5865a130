using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Proxy;
using FastMcp.Gateway.Tracing;
using FastMcp.Http;
using FastMcp.Identity;

namespace FastMcp.Gateway.Tests;

/// <summary>
/// What tracing does on the data path per exchange (the sampling draw, the stage timestamps, turning a sampled
/// exchange into a queued record, dropping it when the queue is full) allocates nothing: the span-enabled variant
/// of the steady-path allocation checks (TraceContextAllocationTests, AccessLogTests).
/// </summary>
public sealed class TracingAllocationTests
{
    [Fact]
    public void Sampling_and_recording_spans_allocate_nothing()
    {
        // No receiver (port 1) and a long schedule: records stay queued, then overflow and are dropped, both measured.
        // Records are 2 spans, so the queue never reaches a full batch of 20,001 and the exporter never takes one.
        var options = new TracingOptions
        {
            OtlpEndpoint = "http://127.0.0.1:1/v1/traces", SampleRatio = 1, MaxQueueSize = 20_001, MaxExportBatchSize = 20_001, ScheduleDelayMs = 600_000,
        };
        var exchange = new Exchange(new HttpRequestHead(new HttpLimits()));
        var principal = new Principal("alice", ["sre"], [], "client", "issuer", DateTimeOffset.MaxValue);
        byte[] incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"u8.ToArray(); // an array: the measured lambda captures it

        // Warm-up on another tracer through both paths (queued, then dropped): tiered JIT and one-time state.
        using (var warm = new Tracer(options, "test"))
        {
            for (int i = 0; i < 30_000; i++) Once(warm, exchange, principal, incoming);
        }
        using var tracer = new Tracer(options, "test");
        long allocated = ThreadAllocations.Measure(() => { for (int i = 0; i < 30_000; i++) Once(tracer, exchange, principal, incoming); });

        // Nothing per exchange. (The 8,000 bytes a full parallel run once showed here were a collection on another thread
        // charging this thread's unused allocation context; ThreadAllocations discards such windows.)
        Assert.Equal(0, allocated);
        Assert.True(tracer.Dropped > 0, "the queue overflowed during the measurement (dropping measured too)");
        Assert.Equal(20_000, tracer.QueuedSpans);
    }

    private static void Once(Tracer tracer, Exchange exchange, Principal principal, ReadOnlySpan<byte> incoming)
    {
        exchange.Reset();
        exchange.Principal = principal;
        bool sampled = tracer.SampleNewTrace();
        exchange.Trace = new TraceContext { SpanId = 7, Sampled = sampled };
        TraceContext.TryParse(incoming, out exchange.Trace.TraceHigh, out exchange.Trace.TraceLow, out exchange.Trace.ParentSpanId, out _);
        exchange.Times.DecideStart = System.Diagnostics.Stopwatch.GetTimestamp();
        exchange.Times.DecideEnd = System.Diagnostics.Stopwatch.GetTimestamp();
        exchange.ResponseStatus = 200;
        tracer.Record(exchange, "127.0.0.1");
    }
}
