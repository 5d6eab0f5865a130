using System.Diagnostics;
using System.Text;

namespace FastMcp.Pan.Tests;

/// <summary>Hostile and huge inputs: no crash, bounded memory, still correct.</summary>
public class LargeInputTests
{
    [Fact]
    public void OneGigabyteStreamIsMaskedInBoundedMemory()
    {
        const long size = 1L << 30;
        var input = new GeneratedStream(size, cardEvery: 50);
        var output = new CheckingSink();
        PanMasker masker = TestKeys.Masker();
        PanMaskCounts counts = default;
        // Counted on this thread only: tests running in parallel allocate on the same heap.
        long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        var timer = Stopwatch.StartNew();
        long cards = MaskCommand.Filter(masker, input, output, ref counts);
        timer.Stop();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;

        Assert.Equal(size, output.BytesWritten);
        Assert.Equal(0, output.Leaks);
        Assert.Equal(input.CardsWritten, cards);
        Assert.Equal(cards, counts.Of(CardBrand.Visa));
        Assert.True(cards > 100_000);
        // The filter works in one pooled buffer: what it allocates does not grow with the stream.
        Assert.True(allocated < 16 << 20, $"filtering allocated {allocated} bytes");
        Console.WriteLine($"1 GiB masked in {timer.Elapsed.TotalSeconds:F2} s ({size / timer.Elapsed.TotalSeconds / 1e9:F2} GB/s), {cards} cards");
    }

    [Fact]
    public void HundredMegabyteDigitRunIsLeftAlone()
    {
        byte[] data = new byte[100 << 20];
        data.AsSpan().Fill((byte)'4');
        "\"4111111111111111\" "u8.CopyTo(data);
        int count = TestKeys.Masker().MaskInPlace(data);
        Assert.Equal(1, count);
        Assert.True(data.AsSpan(19).IndexOfAnyExcept((byte)'4') < 0);

        // The same run streamed in pieces holds back nothing for it.
        var stream = new PanStreamMasker(TestKeys.Masker());
        byte[] piece = new byte[1 << 20];
        piece.AsSpan().Fill((byte)'1');
        for (int i = 0; i < 100; i++)
        {
            int release = stream.Process(piece, isFinalBlock: false);
            Assert.Equal(piece.Length, release);
        }
    }

    [Fact]
    public void GroupedDigitsForeverKeepTheWindowBounded()
    {
        // 4-digit groups separated by single spaces never end a run: the window must slide.
        byte[] data = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("1234 ", 200_000)) + "4111 1111 1111 1111");
        Assert.Equal(1, TestKeys.Masker().MaskInPlace(data));
        Assert.EndsWith("4111 11** **** 1111", Encoding.ASCII.GetString(data));
    }

    [Fact]
    public void InvalidUtf8IsScannedAsBytes()
    {
        byte[] data = [0xFF, 0xC0, (byte)'4', .. "111111111111111"u8, 0x80, 0xED, 0xA0, 0x80, (byte)'\\', (byte)'u', 0xFF, (byte)'5', .. "555555555554444"u8, 0xF8];
        byte[] copy = (byte[])data.Clone();
        int count = TestKeys.Masker().MaskInPlace(data);
        Assert.Equal(2, count);
        Assert.Equal(copy.Length, data.Length);
        Assert.Equal("******"u8.ToArray(), data.AsSpan(8, 6).ToArray());
        Assert.Equal(copy[..8], data[..8]);
    }

    [Fact]
    public void EscapeAtTheVeryEndIsNotACrash()
    {
        foreach (string tail in new[] { "\\", "\\u", "\\u00", "\\u003", "4111111111111111\\u003" })
        {
            byte[] data = Encoding.ASCII.GetBytes("x " + tail);
            TestKeys.Masker().MaskInPlace(data);
            Segmented.Stream(TestKeys.Masker(), Encoding.ASCII.GetBytes("x " + tail), () => 1, out _, out _);
        }
    }
}
