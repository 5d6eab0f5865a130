using System.Buffers;
using FastMcp.Gateway.Tracing;

namespace FastMcp.Gateway.Tests;

/// <summary>What the data path does per exchange for trace context (parse the client's, write the upstream's) allocates nothing.</summary>
public sealed class TraceContextAllocationTests
{
    [Fact]
    public void Parsing_and_writing_a_traceparent_allocates_nothing()
    {
        var output = new ArrayBufferWriter<byte>(256);
        byte[] incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"u8.ToArray(); // an array: the measured lambda captures it
        bool parsed = true;
        for (int i = 0; i < 1000; i++) Once(incoming, output, ref parsed);
        long allocated = ThreadAllocations.Measure(() => { for (int i = 0; i < 10_000; i++) Once(incoming, output, ref parsed); });

        Assert.True(parsed);
        Assert.Equal(0, allocated);
        Assert.StartsWith("traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-", System.Text.Encoding.ASCII.GetString(output.WrittenSpan), StringComparison.Ordinal);
    }

    private static void Once(ReadOnlySpan<byte> incoming, ArrayBufferWriter<byte> output, ref bool parsed)
    {
        var context = new TraceContext { SpanId = (ulong)Random.Shared.NextInt64(1, long.MaxValue) };
        parsed &= TraceContext.TryParse(incoming, out context.TraceHigh, out context.TraceLow, out context.ParentSpanId, out context.Sampled);
        output.ResetWrittenCount();
        context.WriteHeaderLine(output);
    }
}
