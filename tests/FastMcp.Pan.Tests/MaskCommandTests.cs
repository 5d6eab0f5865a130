using System.Text;

namespace FastMcp.Pan.Tests;

public class MaskCommandTests
{
    private static readonly string HexKey = Convert.ToHexString(TestKeys.Key);

    private static (int Exit, string Out, string Err) Run(string input, string[] args, string? envKey = null)
    {
        using var stdin = new MemoryStream(Encoding.UTF8.GetBytes(input));
        using var stdout = new MemoryStream();
        var stderr = new StringWriter();
        int exit = MaskCommand.Run(args, stdin, stdout, stderr, name => name == MaskCommand.KeyEnvironmentVariable ? envKey : null);
        return (exit, Encoding.UTF8.GetString(stdout.ToArray()), stderr.ToString());
    }

    [Fact]
    public void ALongDigitRunAfterAGroupDoesNotCutTheOutputShort()
    {
        // The stream masker used to hold "4111 " and the run after it until the run ended; past the buffer (256 KiB and the hold-back, rented as 512 KiB)
        // a read had no room left, returned 0, and was taken for the end of the input.
        string input = "4111 " + new string('1', 600_000) + " card 4111111111111111 end\n";
        var (exit, output, _) = Run(input, ["--no-fingerprint"]);
        Assert.Equal(0, exit);
        Assert.Equal(input.Length, output.Length);
        Assert.EndsWith(" card 411111******1111 end\n", output, StringComparison.Ordinal);
    }

    [Fact]
    public void TracksAndSecurityCodesInJsonLinesAreMaskedWhole()
    {
        string input = "{\"t\":\";4111111111111111=28121010000012345678?\",\"cvv\":\"123\"}\n"
            + "plain cvv=123 card %B5555555555554444^DOE/J^2812?\n"
            + "{\"pin_block\":\"0412AC89ABCDEF67\",\"n\":{\"CVC\":456}}";
        string expected = "{\"t\":\";411111******1111=********************?\",\"cvv\":\"***\"}\n"
            + "plain cvv=123 card %B555555******4444^*****^****?\n"
            + "{\"pin_block\":\"****************\",\"n\":{\"CVC\":900}}";
        // Read in one piece and, through a stream that returns a byte at a time, split at every boundary.
        var (exit, output, _) = Run(input, ["--no-fingerprint"]);
        Assert.Equal(0, exit);
        Assert.Equal(expected, output);
        using var stdin = new OneByteStream(Encoding.UTF8.GetBytes(input));
        using var stdout = new MemoryStream();
        NoReport sink = default;
        MaskCommand.Filter(new PanMasker(new PanMaskingOptions { ComputeFingerprints = false }), stdin, stdout, ref sink);
        Assert.Equal(expected, Encoding.UTF8.GetString(stdout.ToArray()));
    }

    private struct NoReport : IPanFindingSink
    {
        public readonly void OnCardNumber(CardBrand brand, long offset, int length, ReadOnlySpan<byte> fingerprint32) { }

        public readonly void OnSensitiveData(SensitiveDataKind kind) { }
    }

    private sealed class OneByteStream(byte[] data) : MemoryStream(data)
    {
        public override int Read(byte[] buffer, int offset, int count) => base.Read(buffer, offset, Math.Min(count, 1));
    }

    [Fact]
    public void MasksStdinToStdoutWithKeyFromEnvironment()
    {
        var (exit, output, _) = Run("log card=4111111111111111 ok\n", [], HexKey);
        Assert.Equal(0, exit);
        Assert.Equal("log card=411111******1111 ok\n", output);
    }

    [Fact]
    public void AcceptsBase64KeysAndKeyFiles()
    {
        Assert.Equal(0, Run("x", [], Convert.ToBase64String(TestKeys.Key)).Exit);
        string path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, HexKey + "\n");
            var (exit, output, _) = Run("\"5555555555554444\"", ["--key-file", path, "--keep-first", "0"]);
            Assert.Equal(0, exit);
            Assert.Equal("\"************4444\"", output);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void ReportListsBrandOffsetAndFingerprint()
    {
        var (exit, _, err) = Run("ab 4111111111111111 cd 378282246310005", ["--report"], HexKey);
        Assert.Equal(0, exit);
        string fingerprint = Convert.ToHexStringLower(System.Security.Cryptography.HMACSHA256.HashData(TestKeys.Key, "4111111111111111"u8));
        string[] lines = err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal($"Visa\t3\t16\t{fingerprint}", lines[0]);
        Assert.StartsWith("Amex\t23\t15\t", lines[1]);
        Assert.Equal("2 card number(s) masked", lines[2]);
    }

    [Fact]
    public void RefusesToRunWithoutAKeyUnlessToldNoFingerprint()
    {
        var (exit, output, err) = Run("4111111111111111", []);
        Assert.Equal(2, exit);
        Assert.Equal("", output);
        Assert.Contains(MaskCommand.KeyEnvironmentVariable, err);
        Assert.Contains("--no-fingerprint", err);

        var (exit2, output2, _) = Run("x 4111111111111111", ["--no-fingerprint", "--report"]);
        Assert.Equal(0, exit2);
        Assert.Equal("x 411111******1111", output2);
    }

    [Theory]
    [InlineData("--keep-first", "7")]
    [InlineData("--bogus")]
    [InlineData("--key-file")]
    public void RejectsBadArguments(params string[] args) => Assert.Equal(2, Run("", args, HexKey).Exit);

    [Fact]
    public void RejectsShortOrUnreadableKeys()
    {
        Assert.Equal(2, Run("", [], "00112233").Exit);
        Assert.Equal(2, Run("", [], "not a key!").Exit);
        Assert.Equal(2, Run("", ["--key-file", "/nonexistent/key"]).Exit);
    }

    [Fact]
    public void LargeInputThroughTheCommandMatchesInMemoryMasking()
    {
        var text = new StringBuilder();
        for (int i = 0; i < 20000; i++) text.Append("{\"i\":").Append(i).Append(",\"p\":\"4111 1111 1111 1111\"}\n");
        var (exit, output, _) = Run(text.ToString(), [], HexKey);
        Assert.Equal(0, exit);
        Assert.Equal(TestKeys.Mask(text.ToString()), output);
    }
}
