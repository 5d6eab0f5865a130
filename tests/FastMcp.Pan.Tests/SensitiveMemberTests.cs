using System.Text;
using System.Text.Json;
using FastMcp.Pan.Payloads;

namespace FastMcp.Pan.Tests;

/// <summary>
/// Card security codes and PINs (PCI DSS 3.3.1) are masked whole by member name, in any escaped spelling, case and
/// separator style, at any depth, as strings, numbers and the strings and numbers of an object or array.
/// </summary>
public class SensitiveMemberTests
{
    public static TheoryData<string, string> Masked => new()
    {
        { "{\"card\":\"4111 1111 1111 1111\",\"cvv\":\"123\"}", "{\"card\":\"4111 1111 1111 1111\",\"cvv\":\"***\"}" },
        { "{\"cvc\":\"1234\",\"cvv2\":\"123\",\"cvc2\":\"123\",\"cid\":\"1234\",\"csc\":\"123\"}", "{\"cvc\":\"****\",\"cvv2\":\"***\",\"cvc2\":\"***\",\"cid\":\"****\",\"csc\":\"***\"}" },
        { "{\"securityCode\":\"123\",\"cardSecurityCode\":\"999\"}", "{\"securityCode\":\"***\",\"cardSecurityCode\":\"***\"}" },
        { "{\"card_verification_value\":\"123\",\"card-verification-value\":\"456\",\"CardVerificationValue\":\"789\"}",
          "{\"card_verification_value\":\"***\",\"card-verification-value\":\"***\",\"CardVerificationValue\":\"***\"}" },
        { "{\"CVV\":\"123\",\"Cvc\":\"123\"}", "{\"CVV\":\"***\",\"Cvc\":\"***\"}" },
        // Numbers keep a valid number of the same length.
        { "{\"cvv\":123}", "{\"cvv\":900}" },
        { "{\"cvv\":7,\"cvc\":-12.5e3}", "{\"cvv\":0,\"cvc\":-90.0e0}" },
        // Escaped names, and escapes in the value (masked byte for byte: still valid JSON).
        { "{\"c\\u0076v\":\"123\"}", "{\"c\\u0076v\":\"***\"}" },
        { "{\"\\u0063\\u0056\\u0056\":\"1\\\"3\"}", "{\"\\u0063\\u0056\\u0056\":\"****\"}" },
        // PINs and PIN blocks.
        { "{\"pinBlock\":\"0412AC89ABCDEF67\",\"pin_block\":\"x\",\"pin\":\"1234\"}", "{\"pinBlock\":\"****************\",\"pin_block\":\"*\",\"pin\":\"****\"}" },
        // Any depth, and an object or array under the name.
        { "{\"a\":[{\"b\":{\"cvv\":\"123\"}}]}", "{\"a\":[{\"b\":{\"cvv\":\"***\"}}]}" },
        { "{\"cvv\":{\"value\":\"123\",\"n\":45,\"ok\":true,\"l\":[\"6\",78]},\"next\":\"123\"}",
          "{\"cvv\":{\"value\":\"***\",\"n\":90,\"ok\":true,\"l\":[\"*\",90]},\"next\":\"123\"}" },
        // A JSON-RPC message as a tool answers.
        { "{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{\"structuredContent\":{\"cvv\":\"123\"}}}", "{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{\"structuredContent\":{\"cvv\":\"***\"}}}" },
    };

    public static TheoryData<string> Left => new()
    {
        // Not a sensitive name, a name only containing one, a string value "cvv", null/true, an empty value.
        "{\"cvvCount\":\"123\",\"description\":\"cvv\",\"x\":\"cvv\",\"pinned\":\"12\"}",
        "{\"cvv\":null,\"pin\":true,\"cvc\":\"\"}",
        "[\"cvv\",\"123\"]",
        "not json: cvv=123",
    };

    private static string Mask(string json, PanMasker masker, out PanMaskCounts counts)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(json);
        counts = default;
        Assert.NotEqual(Base64Payloads.Result.Refused, Base64Payloads.MaskInPlace(masker, bytes, ref counts));
        return Encoding.UTF8.GetString(bytes);
    }

    [Theory]
    [MemberData(nameof(Masked))]
    public void ValuesOfSensitiveMembersAreMaskedWhole(string input, string expected)
    {
        string masked = Mask(input, TestKeys.Masker(), out PanMaskCounts counts);
        Assert.Equal(expected, masked);
        Assert.True(counts.SensitiveMembers > 0);
        using JsonDocument _ = JsonDocument.Parse(masked);
    }

    [Theory]
    [MemberData(nameof(Left))]
    public void OtherMembersAndEmptyValuesAreLeft(string input)
    {
        Assert.Equal(input, Mask(input, TestKeys.Masker(), out PanMaskCounts counts));
        Assert.Equal(0, counts.SensitiveMembers);
    }

    [Fact]
    public void TheListIsConfigurableAndEmptyTurnsItOff()
    {
        PanMasker custom = new(new PanMaskingOptions { FingerprintKey = TestKeys.Key, SensitiveMembers = ["otp_code"] });
        Assert.Equal("{\"cvv\":\"123\",\"OtpCode\":\"****\"}", Mask("{\"cvv\":\"123\",\"OtpCode\":\"4567\"}", custom, out _));
        PanMasker off = new(new PanMaskingOptions { FingerprintKey = TestKeys.Key, SensitiveMembers = [] });
        Assert.Equal("{\"cvv\":\"123\"}", Mask("{\"cvv\":\"123\"}", off, out PanMaskCounts counts));
        Assert.Equal(0, counts.SensitiveMembers);
    }

    [Theory]
    [InlineData("", "SensitiveMembers[1] is empty")]
    [InlineData("c\u00e9v", "SensitiveMembers[1] must be printable ASCII")]
    [InlineData("__", "SensitiveMembers[1] has no character other than '_' and '-'")]
    [InlineData("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "SensitiveMembers[1] is longer than 64 characters")]
    public void BadNamesAreRefusedNamingTheEntry(string name, string message)
    {
        var e = Assert.Throws<ArgumentException>(() => new PanMasker(new PanMaskingOptions { FingerprintKey = TestKeys.Key, SensitiveMembers = ["cvv", name] }));
        Assert.StartsWith(message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MoreThanAHundredNamesAreRefused()
    {
        string[] names = Enumerable.Range(0, 101).Select(i => $"n{i}").ToArray();
        Assert.Throws<ArgumentException>(() => new PanMasker(new PanMaskingOptions { FingerprintKey = TestKeys.Key, SensitiveMembers = names }));
    }

    [Fact]
    public void ThePrecheckSeesEveryWayANameCanBeWritten()
    {
        SensitiveMemberNames names = TestKeys.Masker().SensitiveMembers;
        Assert.False(names.MightHold("{\"content\":[{\"type\":\"text\",\"text\":\"Order 12 shipped\"}]}"u8));
        Assert.True(names.MightHold("{\"Card_Security-Code\" : 1}"u8));
        Assert.True(names.MightHold("{\"c\\u0076v\":1}"u8));
        Assert.True(names.MightHold("{\"_pin\":1}"u8));
    }
}
