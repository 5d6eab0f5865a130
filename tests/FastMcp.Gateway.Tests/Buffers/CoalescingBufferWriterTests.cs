using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using FastMcp.Gateway.Buffers;

namespace FastMcp.Gateway.Tests.Buffers;

public sealed class CoalescingBufferWriterTests
{
    /// <summary>Counts the Advance calls that reach the underlying writer.</summary>
    private sealed class CountingWriter : IBufferWriter<byte>
    {
        public readonly ArrayBufferWriter<byte> Inner = new(16);
        public int Advances;
        public void Advance(int count) { Advances++; Inner.Advance(count); }
        public Memory<byte> GetMemory(int sizeHint = 0) => Inner.GetMemory(sizeHint);
        public Span<byte> GetSpan(int sizeHint = 0) => Inner.GetSpan(sizeHint);
    }

    [Fact]
    public void A_head_written_in_pieces_reaches_the_writer_whole_with_one_advance()
    {
        var inner = new CountingWriter();
        var writer = CoalescingBufferWriter.Begin(inner);
        var expected = new StringBuilder();
        for (int i = 0; i < 40; i++)
        {
            string line = $"X-Header-{i}: value {i}\r\n";
            writer.Write(Encoding.ASCII.GetBytes(line));
            expected.Append(line);
        }
        writer.End();
        Assert.Equal(expected.ToString(), Encoding.ASCII.GetString(inner.Inner.WrittenSpan));
        Assert.Equal(1, inner.Advances);
    }

    [Fact]
    public void Writes_larger_than_what_is_left_commit_what_came_before_and_keep_the_order()
    {
        var inner = new CountingWriter();
        var writer = CoalescingBufferWriter.Begin(inner);
        byte[] big = Enumerable.Range(0, 10_000).Select(i => (byte)('a' + i % 26)).ToArray();
        writer.Write("head\r\n"u8);
        writer.Write(big);
        writer.Write("tail"u8);
        writer.End();
        Assert.Equal([.. "head\r\n"u8, .. big, .. "tail"u8], inner.Inner.WrittenSpan.ToArray());
        Assert.Throws<ArgumentOutOfRangeException>(() =>
        {
            var w = CoalescingBufferWriter.Begin(inner);
            try { w.GetSpan(8); w.Advance(1 << 20); }
            finally { w.End(); }
        });
        Assert.Throws<InvalidOperationException>(() => writer.GetSpan(1));
    }

    [Fact]
    public async Task Over_a_pipe_the_reader_sees_exactly_what_was_written()
    {
        var pipe = new Pipe(new PipeOptions(minimumSegmentSize: 4096));
        var writer = CoalescingBufferWriter.Begin(pipe.Writer);
        for (int i = 0; i < 500; i++) writer.Write(Encoding.ASCII.GetBytes($"line {i}\r\n"));
        writer.End();
        await pipe.Writer.FlushAsync();
        pipe.Writer.Complete();
        var text = new StringBuilder();
        while (true)
        {
            ReadResult read = await pipe.Reader.ReadAsync();
            foreach (ReadOnlyMemory<byte> segment in read.Buffer) text.Append(Encoding.ASCII.GetString(segment.Span));
            pipe.Reader.AdvanceTo(read.Buffer.End);
            if (read.IsCompleted) break;
        }
        Assert.Equal(string.Concat(Enumerable.Range(0, 500).Select(i => $"line {i}\r\n")), text.ToString());
    }

    [Fact]
    public void A_writer_left_unended_is_not_reused_and_the_next_one_starts_clean()
    {
        var first = new CountingWriter();
        var abandoned = CoalescingBufferWriter.Begin(first);
        abandoned.Write("partial"u8); // as if an exception stopped the head here

        var second = new CountingWriter();
        var next = CoalescingBufferWriter.Begin(second);
        Assert.NotSame(abandoned, next);
        next.Write("whole head\r\n"u8);
        next.End();
        Assert.Equal("whole head\r\n", Encoding.ASCII.GetString(second.Inner.WrittenSpan));
        Assert.Equal(0, first.Inner.WrittenCount);

        // The thread's cached writer is the fresh one now, and it is reused once ended.
        var again = CoalescingBufferWriter.Begin(second);
        Assert.Same(next, again);
        again.End();
    }
}
