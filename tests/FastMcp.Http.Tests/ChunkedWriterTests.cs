using System.Buffers;
using System.Text;

namespace FastMcp.Http.Tests;

public class ChunkedWriterTests
{
    [Fact]
    public void WireFormat()
    {
        var w = new ArrayBufferWriter<byte>();
        ChunkedWriter.WriteChunk(w, "hello"u8);
        ChunkedWriter.WriteChunk(w, new byte[26]);
        ChunkedWriter.WriteChunk(w, ReadOnlySpan<byte>.Empty);
        ChunkedWriter.WriteChunk(w, Segments.Of("ab"u8.ToArray(), "c"u8.ToArray()));
        ChunkedWriter.WriteChunk(w, ReadOnlySequence<byte>.Empty);
        ChunkedWriter.WriteTerminator(w);
        Assert.Equal("5\r\nhello\r\n1a\r\n" + new string('\0', 26) + "\r\n3\r\nabc\r\n0\r\n\r\n", Encoding.Latin1.GetString(w.WrittenSpan));
    }

    [Theory]
    [InlineData(1L, "1")]
    [InlineData(15L, "f")]
    [InlineData(16L, "10")]
    [InlineData(4096L, "1000")]
    [InlineData(long.MaxValue, "7fffffffffffffff")]
    public void ChunkHeaderIsLowerCaseHex(long length, string hex)
    {
        var w = new ArrayBufferWriter<byte>();
        ChunkedWriter.WriteChunkHeader(w, length);
        Assert.Equal(hex + "\r\n", Encoding.Latin1.GetString(w.WrittenSpan));
    }

    [Fact]
    public void RandomPayloadsRoundTripThroughTheDecoder()
    {
        var random = new Random(20261124);
        for (int round = 0; round < 200; round++)
        {
            var expected = new ArrayBufferWriter<byte>();
            var encoded = new ArrayBufferWriter<byte>();
            int chunks = random.Next(0, 8);
            for (int c = 0; c < chunks; c++)
            {
                byte[] data = new byte[random.Next(0, 5000)];
                random.NextBytes(data);
                expected.Write(data);
                if (random.Next(2) == 0) ChunkedWriter.WriteChunk(encoded, data);
                else ChunkedWriter.WriteChunk(encoded, Segments.SplitAt(data, random.Next(0, data.Length + 1)));
            }
            ChunkedWriter.WriteTerminator(encoded);
            encoded.Write("NEXT"u8);

            byte[] wire = encoded.WrittenSpan.ToArray();
            var decoder = new ChunkedDecoder();
            var output = new ArrayBufferWriter<byte>();
            // Deliver in random-sized reads, each split into random segments.
            int consumed = 0, available = 0;
            OperationStatus status = OperationStatus.NeedMoreData;
            while (status == OperationStatus.NeedMoreData)
            {
                Assert.True(available < wire.Length, "decoder asked for more data after the whole body arrived");
                available = Math.Min(wire.Length, available + random.Next(1, 700));
                byte[] unread = wire[consumed..available];
                var reader = new SequenceReader<byte>(Segments.SplitAt(unread, random.Next(0, unread.Length + 1)));
                status = decoder.Decode(ref reader, output, new HttpLimits(), out HttpRejectReason error);
                Assert.Equal(HttpRejectReason.None, error);
                consumed += (int)reader.Consumed;
            }
            Assert.Equal(OperationStatus.Done, status);
            Assert.True(expected.WrittenSpan.SequenceEqual(output.WrittenSpan), $"round {round}");
            Assert.Equal("NEXT", Encoding.Latin1.GetString(wire.AsSpan(consumed)));
        }
    }
}
