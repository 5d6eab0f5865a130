using System.Text;

namespace FastMcp.Pan.Tests;

public class MaskingTests
{
    [Theory]
    [InlineData("pan 4111111111111111", "pan 411111******1111")]
    [InlineData("card 4111 1111 1111 1111 ok", "card 4111 11** **** 1111 ok")]
    [InlineData("card 4111-1111-1111-1111.", "card 4111-11**-****-1111.")]
    [InlineData("amex 3782 822463 10005", "amex 3782 82**** *0005")]
    [InlineData("diners 3056 930902 5904", "diners 3056 93**** 5904")]
    [InlineData("{\"pan\":\"5555555555554444\"}", "{\"pan\":\"555555******4444\"}")]
    [InlineData("x 2223003122003222 y", "x 222300******3222 y")]
    [InlineData("pan 6011111111111117", "pan 601111******1117")]
    [InlineData("pan 3530111333300000", "pan 353011******0000")]
    [InlineData("pan 6200000000000005", "pan 620000******0005")]
    [InlineData("pan 6759649826438453", "pan 675964******8453")]
    [InlineData("pan 36227206271667", "pan 362272****1667")]
    [InlineData("pan 4222222222222", "pan 422222***2222")]
    public void MasksInsideStringsAndText(string input, string expected) => Assert.Equal(expected, TestKeys.Mask(input));

    [Theory]
    [InlineData("{\"n\":4111111111111111}", "{\"n\":4111110000001111}")]
    [InlineData("[4111111111111111, 1]", "[4111110000001111, 1]")]
    [InlineData("{\"n\": -4111111111111111}", "{\"n\": -4111110000001111}")]
    [InlineData("{\"a\":\"\\\"\", \"n\":4111111111111111}", "{\"a\":\"\\\"\", \"n\":4111110000001111}")]
    public void BareJsonNumbersAreMaskedWithDigitsSoJsonStaysValid(string input, string expected)
    {
        string masked = TestKeys.Mask(input);
        Assert.Equal(expected, masked);
        System.Text.Json.JsonDocument.Parse(masked).Dispose();
        Assert.False(PanMasker.ContainsCardNumber(Encoding.UTF8.GetBytes(masked)));
    }

    [Theory]
    [InlineData("{\"t\":\"paid, 4111111111111111, thanks\"}", "{\"t\":\"paid, 411111******1111, thanks\"}")]
    [InlineData("{\"t\":\"[4111111111111111]\"}", "{\"t\":\"[411111******1111]\"}")]
    [InlineData("{\"t\":\"q\\\":4111111111111111\"}", "{\"t\":\"q\\\":411111******1111\"}")]
    public void InsideStringsTheMaskByteIsUsedWhateverPrecedes(string input, string expected) =>
        Assert.Equal(expected, TestKeys.Mask(input));

    [Fact]
    public void EscapedDigitsAreFoundAndMaskedAsEscapes()
    {
        string input = "{\"p\":\"\\u0034111111111111111\"}";
        string masked = TestKeys.Mask(input);
        Assert.Equal(input.Length, masked.Length);
        using var doc = System.Text.Json.JsonDocument.Parse(masked);
        Assert.Equal("411111******1111", doc.RootElement.GetProperty("p").GetString());
    }

    [Fact]
    public void EveryDigitEscapedIsStillMasked()
    {
        string pan = "4111111111111111";
        var sb = new StringBuilder("{\"p\":\"");
        foreach (char c in pan) sb.Append("\\u").Append(((int)c).ToString("x4"));
        sb.Append("\"}");
        string masked = TestKeys.Mask(sb.ToString());
        Assert.Equal(sb.Length, masked.Length);
        using var doc = System.Text.Json.JsonDocument.Parse(masked);
        Assert.Equal("411111******1111", doc.RootElement.GetProperty("p").GetString());
    }

    [Theory]
    [InlineData(0, "\"************1111\"")]
    [InlineData(6, "\"411111******1111\"")]
    [InlineData(8, "\"41111111****1111\"")]
    public void KeepFirstIsConfigurable(int keepFirst, string expected) =>
        Assert.Equal(expected, TestKeys.Mask("\"4111111111111111\"", keepFirst));

    [Fact]
    public void KeepFirstZeroInABareNumberKeepsItAValidNumber() =>
        Assert.Equal("[9000000000001111]", TestKeys.Mask("[4111111111111111]", 0));

    [Fact]
    public void KeepFirstEightFallsBackToSixBelowSixteenDigits() =>
        Assert.Equal("\"378282*****0005\"", TestKeys.Mask("\"378282246310005\"", 8));
}
