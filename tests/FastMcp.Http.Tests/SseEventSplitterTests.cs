using System.Text;

namespace FastMcp.Http.Tests;

public class SseEventSplitterTests
{
    /// <summary>Splits the way the gateway does: bytes appended to a buffer, one event taken off the front per hit.</summary>
    private static List<string> Split(string stream, int[] readSizes, bool finish)
    {
        byte[] all = Segments.Ascii(stream);
        var events = new List<string>();
        var buffer = new List<byte>();
        var splitter = new SseEventSplitter();
        int fed = 0, read = 0;
        while (fed < all.Length)
        {
            int n = Math.Min(readSizes[read++ % readSizes.Length], all.Length - fed);
            buffer.AddRange(all.AsSpan(fed, n));
            fed += n;
            TakeEvents(ref splitter, buffer, events, isFinalBlock: false);
        }
        if (finish) TakeEvents(ref splitter, buffer, events, isFinalBlock: true);
        else if (buffer.Count > 0) events.Add("PENDING:" + Encoding.Latin1.GetString(buffer.ToArray()));
        return events;
    }

    private static void TakeEvents(ref SseEventSplitter splitter, List<byte> buffer, List<string> events, bool isFinalBlock)
    {
        while (true)
        {
            int end = splitter.TryFindEventEnd(buffer.ToArray(), isFinalBlock);
            if (end == 0) return;
            events.Add(Encoding.Latin1.GetString(buffer.GetRange(0, end).ToArray()));
            buffer.RemoveRange(0, end);
            splitter.Reset();
        }
    }

    private static void SplitsIdentically(string stream, bool finish, params string[] expected)
    {
        Assert.Equal(expected, Split(stream, [stream.Length + 1], finish));
        Assert.Equal(expected, Split(stream, [1], finish));
        Assert.Equal(expected, Split(stream, [2, 3, 1, 7], finish));
        for (int at = 1; at < stream.Length; at++)
            Assert.Equal(expected, Split(stream, [at, stream.Length], finish));
    }

    [Fact]
    public void LfLf() => SplitsIdentically(
        "event: message\ndata: {\"a\":1}\n\ndata: two\n\n", false,
        "event: message\ndata: {\"a\":1}\n\n", "data: two\n\n");

    [Fact]
    public void CrLfCrLf() => SplitsIdentically(
        "id: 1\r\ndata: {}\r\n\r\ndata: x\r\n\r\n", false,
        "id: 1\r\ndata: {}\r\n\r\n", "data: x\r\n\r\n");

    [Fact]
    public void CrCr() => SplitsIdentically(
        "data: a\r\rdata: b\r\rdata: c", false,
        "data: a\r\r", "data: b\r\r", "PENDING:data: c");

    [Fact]
    public void Mixtures() => SplitsIdentically(
        "data: a\n\r\ndata: b\r\n\ndata: c\r\r\ndata: d\n\rid: 7\r\n\r\n", false,
        "data: a\n\r\n", "data: b\r\n\n", "data: c\r\r\n", "data: d\n\r", "id: 7\r\n\r\n");

    [Fact]
    public void CommentsAndEmptyEvents() => SplitsIdentically(
        ": keep-alive\n\n\ndata: x\n\n", false,
        ": keep-alive\n\n", "\n", "data: x\n\n");

    [Fact]
    public void CrAtTheVeryEndWaitsForTheNextByte()
    {
        var splitter = new SseEventSplitter();
        Assert.Equal(0, splitter.TryFindEventEnd("data: a\n\r"u8));
        Assert.Equal(10, splitter.TryFindEventEnd("data: a\n\r\n"u8));

        splitter.Reset();
        Assert.Equal(0, splitter.TryFindEventEnd("data: a\r"u8));
        Assert.Equal(0, splitter.TryFindEventEnd("data: a\r\n"u8));
        Assert.Equal(0, splitter.TryFindEventEnd("data: a\r\n\r"u8));
        Assert.Equal(11, splitter.TryFindEventEnd("data: a\r\n\r\n"u8));

        // A CR followed by anything but LF is a complete line ending.
        splitter.Reset();
        Assert.Equal(0, splitter.TryFindEventEnd("data: a\r\r"u8));
        Assert.Equal(9, splitter.TryFindEventEnd("data: a\r\rd"u8));
    }

    [Fact]
    public void FinalBlockReturnsTheRest()
    {
        var splitter = new SseEventSplitter();
        Assert.Equal(7, splitter.TryFindEventEnd("data: a"u8, isFinalBlock: true));
        splitter.Reset();
        Assert.Equal(9, splitter.TryFindEventEnd("data: a\r\r"u8, isFinalBlock: true));
        splitter.Reset();
        Assert.Equal(8, splitter.TryFindEventEnd("data: a\r"u8, isFinalBlock: true));
        splitter.Reset();
        Assert.Equal(0, splitter.TryFindEventEnd(""u8, isFinalBlock: true));
        splitter.Reset();
        Assert.Equal(9, splitter.TryFindEventEnd("data: a\n\ndata: b"u8, isFinalBlock: true));

        Assert.Equal(["data: a\n\n", "data: b\n"], Split("data: a\n\ndata: b\n", [1], finish: true));
        Assert.Equal(["data: a\r\r", "data: b\r"], Split("data: a\r\rdata: b\r", [1], finish: true));
    }

    [Fact]
    public void LongEventFedOneByteAtATime()
    {
        string data = "data: " + new string('x', 5000) + "\r\n\r\n";
        Assert.Equal([data, data], Split(data + data, [1], finish: false));
    }

    [Theory]
    [InlineData("data: {\"x\":1}\n\n", "{\"x\":1}")]
    [InlineData("data:{\"x\":1}\n\n", "{\"x\":1}")]
    [InlineData("data:  two spaces\n\n", " two spaces")]
    [InlineData("event: message\r\nid: 4\r\ndata: v\r\n\r\n", "v")]
    [InlineData("id: 4\rdata: v\r\r", "v")]
    [InlineData(": comment data: no\ndata: yes\n\n", "yes")]
    [InlineData("data\n\n", "")]
    [InlineData("data:\n\n", "")]
    [InlineData("data: \n\n", "")]
    [InlineData("data: last line without newline", "last line without newline")]
    [InlineData("datum: x\ndata-x: y\ndata: z\n\n", "z")]
    public void SingleData(string evt, string expected)
    {
        byte[] bytes = Segments.Ascii(evt);
        Assert.True(SseEvent.TryGetSingleData(bytes, out Range range));
        Assert.Equal(expected, Encoding.Latin1.GetString(bytes.AsSpan()[range]));
    }

    [Theory]
    [InlineData("event: ping\n\n")]
    [InlineData(": only a comment\n\n")]
    [InlineData("")]
    [InlineData("\n")]
    [InlineData("Data: upper case is another field\n\n")]
    [InlineData("data: one\ndata: two\n\n")]
    [InlineData("data: one\r\ndata\r\n\r\n")]
    [InlineData("data:a\rdata:b\r\r")]
    public void NotASingleData(string evt) =>
        Assert.False(SseEvent.TryGetSingleData(Segments.Ascii(evt), out _));
}
