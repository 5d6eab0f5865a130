using System.Text;
using FastMcp.Gateway.Tracing;

namespace FastMcp.Gateway.Tests;

/// <summary>
/// The traceparent line the upstream gets, written with the vector hex digits, against the ids formatted by the runtime
/// ("x16") as the oracle, for random ids and ones with every nibble value at every position, sampled or not.
/// </summary>
public sealed class TraceparentHexTests
{
    [Fact]
    public void The_line_spells_the_ids_as_sixteen_lowercase_hex_digits_each()
    {
        var random = new Random(1414);
        var line = new byte[TraceContext.HeaderLineLength + 8];
        var id = new byte[32];
        for (int i = 0; i < 20_000; i++)
        {
            var context = new TraceContext
            {
                TraceHigh = Next(random, i), TraceLow = Next(random, i + 1), SpanId = Next(random, i + 2), Sampled = i % 2 == 0,
            };
            line.AsSpan().Fill((byte)'#');
            int written = context.WriteHeaderLine(line);
            string expected = $"traceparent: 00-{context.TraceHigh:x16}{context.TraceLow:x16}-{context.SpanId:x16}-0{(context.Sampled ? 1 : 0)}\r\n";
            Assert.Equal(expected, Encoding.ASCII.GetString(line, 0, written));
            Assert.Equal(TraceContext.HeaderLineLength, written);
            Assert.Equal((byte)'#', line[written]);
            context.WriteTraceId(id);
            Assert.Equal($"{context.TraceHigh:x16}{context.TraceLow:x16}", Encoding.ASCII.GetString(id));
        }
    }

    /// <summary>Random, or one nibble value repeated (0x0…0 to 0xf…f), or a single nibble set at a walking position.</summary>
    private static ulong Next(Random random, int i) => (i % 5) switch
    {
        0 => 0x1111111111111111UL * (ulong)(i / 5 % 16),
        1 => 0xFUL << (4 * (i / 5 % 16)),
        _ => (ulong)random.NextInt64(long.MinValue, long.MaxValue),
    };
}
