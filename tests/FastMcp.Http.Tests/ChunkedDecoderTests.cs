using System.Buffers;
using System.Text;

namespace FastMcp.Http.Tests;

public class ChunkedDecoderTests
{
    private static readonly HttpLimits Limits = new();

    // Three chunks (one with extensions, one with upper-case hex and BWS before the extension), then trailers.
    private const string Body =
        "5\r\nhello\r\n" +
        "1;name=value;flag\r\n,\r\n" +
        "A \t;ext=\"quoted;still\"\r\n world!!!!\r\n" +
        "0\r\n" +
        "X-Trailer: one\r\n" +
        "X-Other: two\r\n" +
        "\r\n";
    private const string Decoded = "hello, world!!!!";
    private const string Pipelined = "POST /next HTTP/1.1\r\n";

    private static readonly byte[] Input = Segments.Ascii(Body + Pipelined);

    /// <summary>Feeds <paramref name="pieces"/> the way a pipe reader would: unread bytes stay in the buffer, new bytes are appended.</summary>
    private static (OperationStatus Status, HttpRejectReason Error, string Output, string Remainder) DecodeIncrementally(byte[] input, IEnumerable<int> cuts, HttpLimits? limits = null)
    {
        var decoder = new ChunkedDecoder();
        var output = new ArrayBufferWriter<byte>();
        int consumed = 0;
        OperationStatus status = OperationStatus.NeedMoreData;
        HttpRejectReason error = HttpRejectReason.None;
        foreach (int available in cuts.Append(input.Length))
        {
            // The unread part may span segments: split it in the middle too.
            byte[] unread = input[consumed..available];
            ReadOnlySequence<byte> seq = Segments.SplitAt(unread, unread.Length / 2);
            var reader = new SequenceReader<byte>(seq);
            status = decoder.Decode(ref reader, output, limits ?? Limits, out error);
            consumed += (int)reader.Consumed;
            if (status != OperationStatus.NeedMoreData) break;
        }
        return (status, error, Encoding.Latin1.GetString(output.WrittenSpan), Encoding.Latin1.GetString(input.AsSpan(consumed)));
    }

    private static (OperationStatus, HttpRejectReason, string, string) DecodeWhole(string input, HttpLimits? limits = null) =>
        DecodeIncrementally(Segments.Ascii(input), [], limits);

    [Fact]
    public void WholeBody()
    {
        var decoder = new ChunkedDecoder();
        var output = new ArrayBufferWriter<byte>();
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(Input));
        Assert.Equal(OperationStatus.Done, decoder.Decode(ref reader, output, Limits, out HttpRejectReason error));
        Assert.Equal(HttpRejectReason.None, error);
        Assert.True(decoder.IsComplete);
        Assert.Equal(Decoded, Encoding.Latin1.GetString(output.WrittenSpan));
        Assert.Equal(Body.Length, reader.Consumed);
        Assert.Equal(Pipelined, Encoding.Latin1.GetString(reader.UnreadSequence.ToArray()));

        // Done is sticky and consumes nothing more.
        Assert.Equal(OperationStatus.Done, decoder.Decode(ref reader, output, Limits, out _));
        Assert.Equal(Body.Length, reader.Consumed);
    }

    [Fact]
    public void TwoSegmentsSplitAtEveryPosition()
    {
        for (int at = 0; at <= Input.Length; at++)
        {
            var decoder = new ChunkedDecoder();
            var output = new ArrayBufferWriter<byte>();
            var reader = new SequenceReader<byte>(Segments.SplitAt(Input, at));
            Assert.Equal(OperationStatus.Done, decoder.Decode(ref reader, output, Limits, out _));
            Assert.Equal(Decoded, Encoding.Latin1.GetString(output.WrittenSpan));
            Assert.Equal(Body.Length, reader.Consumed);
        }
    }

    [Fact]
    public void OneByteSegments()
    {
        var decoder = new ChunkedDecoder();
        var output = new ArrayBufferWriter<byte>();
        var reader = new SequenceReader<byte>(Segments.OneBytePerSegment(Input));
        Assert.Equal(OperationStatus.Done, decoder.Decode(ref reader, output, Limits, out _));
        Assert.Equal(Decoded, Encoding.Latin1.GetString(output.WrittenSpan));
        Assert.Equal(Body.Length, reader.Consumed);
    }

    [Fact]
    public void ArrivingInTwoReadsSplitAtEveryPosition()
    {
        for (int at = 0; at <= Input.Length; at++)
        {
            var r = DecodeIncrementally(Input, [at]);
            Assert.Equal(OperationStatus.Done, r.Status);
            Assert.Equal(Decoded, r.Output);
            Assert.Equal(Pipelined, r.Remainder);
        }
    }

    [Fact]
    public void ArrivingOneByteAtATime()
    {
        var decoder = new ChunkedDecoder();
        var output = new ArrayBufferWriter<byte>();
        for (int i = 0; i < Body.Length; i++)
        {
            var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(Input, i, 1));
            OperationStatus status = decoder.Decode(ref reader, output, Limits, out HttpRejectReason error);
            Assert.Equal(HttpRejectReason.None, error);
            Assert.Equal(1, reader.Consumed);
            Assert.Equal(i == Body.Length - 1 ? OperationStatus.Done : OperationStatus.NeedMoreData, status);
        }
        Assert.True(decoder.IsComplete);
        Assert.Equal(Decoded, Encoding.Latin1.GetString(output.WrittenSpan));
    }

    [Fact]
    public void EmptyInputNeedsMoreData()
    {
        var decoder = new ChunkedDecoder();
        var reader = new SequenceReader<byte>(ReadOnlySequence<byte>.Empty);
        Assert.Equal(OperationStatus.NeedMoreData, decoder.Decode(ref reader, new ArrayBufferWriter<byte>(), Limits, out _));
        Assert.False(decoder.IsComplete);
    }

    [Fact]
    public void ZeroSizeBody()
    {
        var r = DecodeWhole("0\r\n\r\nGET");
        Assert.Equal(OperationStatus.Done, r.Item1);
        Assert.Equal("", r.Item3);
        Assert.Equal("GET", r.Item4);
    }

    [Fact]
    public void ResetAllowsANewBody()
    {
        var decoder = new ChunkedDecoder();
        var output = new ArrayBufferWriter<byte>();
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(Segments.Ascii("3\r\nabc\r\n0\r\n\r\n")));
        Assert.Equal(OperationStatus.Done, decoder.Decode(ref reader, output, Limits, out _));
        decoder.Reset();
        Assert.False(decoder.IsComplete);
        reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(Segments.Ascii("2\r\nde\r\n0\r\n\r\n")));
        Assert.Equal(OperationStatus.Done, decoder.Decode(ref reader, output, Limits, out _));
        Assert.Equal("abcde", Encoding.Latin1.GetString(output.WrittenSpan));
    }

    [Fact]
    public void LargestAcceptedSizeHas15HexDigits()
    {
        // 15 digits parse (and then wait for data); the 16th is refused even when it is a leading zero.
        var r = DecodeWhole("fffffffffffffff\r\nabc");
        Assert.Equal(OperationStatus.NeedMoreData, r.Item1);
        Assert.Equal("abc", r.Item3);
        r = DecodeWhole("000000000000001\r\nx\r\n0\r\n\r\n");
        Assert.Equal(OperationStatus.Done, r.Item1);
        Assert.Equal("x", r.Item3);
    }

    [Theory]
    [InlineData("g\r\n", HttpRejectReason.InvalidChunkSize)]
    [InlineData("\r\n", HttpRejectReason.InvalidChunkSize)]
    [InlineData(";ext\r\n", HttpRejectReason.InvalidChunkSize)]
    [InlineData("-1\r\n", HttpRejectReason.InvalidChunkSize)]
    [InlineData("+1\r\n", HttpRejectReason.InvalidChunkSize)]
    [InlineData("0x5\r\n", HttpRejectReason.InvalidChunkSize)]
    [InlineData("5z\r\n", HttpRejectReason.InvalidChunkSize)]
    [InlineData("1000000000000000\r\n", HttpRejectReason.InvalidChunkSize)]
    [InlineData("0000000000000001\r\n", HttpRejectReason.InvalidChunkSize)]
    [InlineData("ffffffffffffffffffff\r\n", HttpRejectReason.InvalidChunkSize)]
    [InlineData("5\n", HttpRejectReason.InvalidChunkSize)]
    [InlineData("5\rX", HttpRejectReason.InvalidChunkSize)]
    [InlineData("5;ext\n", HttpRejectReason.InvalidChunkSize)]
    [InlineData("5\r\nhelloX\r\n", HttpRejectReason.InvalidChunkTerminator)]
    [InlineData("5\r\nhello\n0\r\n\r\n", HttpRejectReason.InvalidChunkTerminator)]
    [InlineData("5\r\nhello\rX", HttpRejectReason.InvalidChunkTerminator)]
    [InlineData("0\r\n\rX", HttpRejectReason.InvalidChunkTerminator)]
    [InlineData("0\r\nX: y\n", HttpRejectReason.InvalidHeaderLine)]
    [InlineData("0\r\nX: y\rZ", HttpRejectReason.InvalidHeaderLine)]
    [InlineData("0\r\n\n", HttpRejectReason.InvalidHeaderLine)]
    public void Errors(string input, HttpRejectReason expected)
    {
        var r = DecodeWhole(input);
        Assert.Equal(OperationStatus.InvalidData, r.Item1);
        Assert.Equal(expected, r.Item2);
        Assert.Equal(400, r.Item2.StatusCode());
    }

    [Theory]
    [InlineData("1 0\r\n")]
    [InlineData("5 xyz\r\n")]
    [InlineData("5\tff\r\n")]
    public void WhitespaceAfterTheSizeMustLeadToAnExtension(string sizeLine)
    {
        // RFC 9112 7.1.1: chunk-ext = *( BWS ";" ... ). "1 0" read as size 1 is a parser differential.
        var r = DecodeWhole(sizeLine + "0123456789abcdef\r\n0\r\n\r\n");
        Assert.Equal(OperationStatus.InvalidData, r.Item1);
        Assert.Equal(HttpRejectReason.InvalidChunkSize, r.Item2);
    }

    [Fact]
    public void ErrorsAreFoundHoweverTheInputArrives()
    {
        byte[] bad = Segments.Ascii("5\r\nhello\r\n3\r\nabcX\r\n0\r\n\r\n");
        for (int at = 0; at <= bad.Length; at++)
        {
            var r = DecodeIncrementally(bad, [at]);
            Assert.Equal(OperationStatus.InvalidData, r.Status);
            Assert.Equal(HttpRejectReason.InvalidChunkTerminator, r.Error);
            Assert.Equal("helloabc", r.Output);
        }
    }

    [Fact]
    public void ExtensionLongerThanMaxChunkLineBytes()
    {
        var limits = new HttpLimits { MaxChunkLineBytes = 32 };
        // "5;" + extension + CR: the size line is counted up to and including the CR.
        string fits = "5;" + new string('e', 29) + "\r\nhello\r\n0\r\n\r\n";
        var ok = DecodeWhole(fits, limits);
        Assert.Equal(OperationStatus.Done, ok.Item1);
        Assert.Equal("hello", ok.Item3);

        string tooLong = "5;" + new string('e', 30) + "\r\nhello\r\n0\r\n\r\n";
        var r = DecodeWhole(tooLong, limits);
        Assert.Equal(OperationStatus.InvalidData, r.Item1);
        Assert.Equal(HttpRejectReason.ChunkLineTooLong, r.Item2);

        // An endless extension is stopped at the limit, not buffered.
        var endless = DecodeIncrementally(Segments.Ascii("5;" + new string('e', 10_000)), Enumerable.Range(1, 100).Select(i => i * 100), limits);
        Assert.Equal(OperationStatus.InvalidData, endless.Status);
        Assert.Equal(HttpRejectReason.ChunkLineTooLong, endless.Error);
    }

    [Fact]
    public void ExtensionLimitIsPerLine()
    {
        var limits = new HttpLimits { MaxChunkLineBytes = 32 };
        string ext = ";" + new string('e', 20);
        string body = "1" + ext + "\r\na\r\n1" + ext + "\r\nb\r\n1" + ext + "\r\nc\r\n0" + ext + "\r\n\r\n";
        var r = DecodeWhole(body, limits);
        Assert.Equal(OperationStatus.Done, r.Item1);
        Assert.Equal("abc", r.Item3);
    }

    [Fact]
    public void TrailersLongerThanMaxTrailerBytes()
    {
        var limits = new HttpLimits { MaxTrailerBytes = 40 };
        var ok = DecodeWhole("0\r\nA: " + new string('a', 10) + "\r\nB: " + new string('b', 10) + "\r\n\r\n", limits);
        Assert.Equal(OperationStatus.Done, ok.Item1);

        // Many short trailer lines add up.
        string many = "0\r\n" + string.Concat(Enumerable.Repeat("T: 123456\r\n", 10)) + "\r\n";
        var r = DecodeWhole(many, limits);
        Assert.Equal(OperationStatus.InvalidData, r.Item1);
        Assert.Equal(HttpRejectReason.TrailersTooLarge, r.Item2);

        var one = DecodeWhole("0\r\nX: " + new string('x', 100) + "\r\n\r\n", limits);
        Assert.Equal(HttpRejectReason.TrailersTooLarge, one.Item2);
    }

    [Fact]
    public void TrailersAreDroppedFromTheOutput()
    {
        var r = DecodeWhole("2\r\nok\r\n0\r\nX-Checksum: abc\r\n\r\nNEXT");
        Assert.Equal(OperationStatus.Done, r.Item1);
        Assert.Equal("ok", r.Item3);
        Assert.Equal("NEXT", r.Item4);
    }
}
