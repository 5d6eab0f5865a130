using System.Text;

namespace FastMcp.Pan.Tests;

/// <summary>
/// Track data after a card number (PCI DSS 3.3.1: the expiry, service code and discretionary data of track 2, the name
/// and discretionary data of track 1, where the CVV1 or iCVV is) is masked with the card number, in one buffer and split.
/// </summary>
public class TrackDataTests
{
    public static TheoryData<string, string> Tracks => new()
    {
        // Track 2, raw and inside JSON.
        { ";4111111111111111=28121010000012345678?", ";411111******1111=********************?" },
        { "{\"track2\":\";4111111111111111=28121010000012345678?\"}", "{\"track2\":\";411111******1111=********************?\"}" },
        // Track 2 without sentinels: the digit run after '=' ends the track.
        { "t=4111111111111111=2812101 rest 2812", "t=411111******1111=******* rest 2812" },
        // Track 1 with its start sentinel and format code "%B".
        { "%B4111111111111111^DOE/JOHN^2812101000001234000000?", "%B411111******1111^********^**********************?" },
        { "{\"t1\":\"%B5555555555554444^DOE/JANE A.^28121010000000?\"}", "{\"t1\":\"%B555555******4444^***********^**************?\"}" },
        // An empty name is a track too.
        { "%B4111111111111111^^2812101?", "%B411111******1111^^*******?" },
        // JSON-escaped separators and digits.
        { "{\"t\":\"4111111111111111\\u003d2812\\u0031010?\"}", "{\"t\":\"411111******1111\\u003d****\\u002a***?\"}" },
        { "{\"t\":\"4111111111111111\\u005eDOE/J\\u005e2812?\"}", "{\"t\":\"411111******1111\\u005e*****\\u005e****?\"}" },
        // A non-ASCII name is masked byte for byte: still valid UTF-8 and JSON.
        { "{\"t\":\"4111111111111111^MÜLLER/JO^2812?\"}", "{\"t\":\"411111******1111^**********^****?\"}" },
        // A grouped card number right before '=' starts a track too.
        { "t 4111 1111 1111 1111=2812101", "t 4111 11** **** 1111=*******" },
    };

    public static TheoryData<string> NotTracks => new()
    {
        // '=' after no card number.
        "x=1234567890 order=28121010000012345678",
        // An order id followed by '='.
        "order 1234567890123=2812101",
        // A card number, a space, then '=': not immediately followed.
        "t 4111111111111111 =2812101",
        // '^' followed by a "name" holding digits, or longer than a name, or ended by the string: no track 1.
        "t 4111111111111111^12345678",
        "t 4111111111111111^ABCDEFGHIJKLMNOPQRSTUVWXYZABCD^2812",
        "{\"a\":\"4111111111111111^DOE\",\"b\":\"2812^3\"}",
    };

    private static string Mask(string text, out PanMaskCounts counts)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        counts = default;
        TestKeys.Masker().MaskInPlace(bytes.AsSpan(), ref counts);
        return Encoding.UTF8.GetString(bytes);
    }

    [Theory]
    [MemberData(nameof(Tracks))]
    public void TrackDataAfterACardNumberIsMaskedAndCounted(string input, string expected)
    {
        Assert.Equal(expected, Mask(input, out PanMaskCounts counts));
        Assert.Equal(1, counts.Total);
        Assert.Equal(1, counts.Tracks);
    }

    [Theory]
    [MemberData(nameof(NotTracks))]
    public void DataAfterNoCardNumberOrNoTrackIsLeft(string input)
    {
        string masked = Mask(input, out PanMaskCounts counts);
        Assert.Equal(0, counts.Tracks);
        // Only the card number's middle digits may change.
        string expected = input.Replace("4111111111111111", "411111******1111", StringComparison.Ordinal);
        Assert.Equal(expected, masked);
    }

    [Fact]
    public void ANameThatMeetsADigitIsScannedForCardNumbers()
    {
        // The text after '^' holds a second card number, not a name: it is found and masked like any other.
        Assert.Equal("t 4111111111111111^ 5555555555554444 x".Replace("4111111111111111", "411111******1111").Replace("5555555555554444", "555555******4444"),
            Mask("t 4111111111111111^ 5555555555554444 x", out PanMaskCounts counts));
        Assert.Equal(2, counts.Total);
        Assert.Equal(0, counts.Tracks);
    }

    [Fact]
    public void DetectionCountsTracksWithoutChangingAnything()
    {
        byte[] bytes = Encoding.UTF8.GetBytes(";4111111111111111=28121010000012345678?");
        PanMaskCounts counts = default;
        Assert.Equal(1, PanMasker.FindCardNumbers(bytes, ref counts));
        Assert.Equal(1, counts.Tracks);
        Assert.Equal(";4111111111111111=28121010000012345678?", Encoding.UTF8.GetString(bytes));
    }

    [Theory]
    [MemberData(nameof(Tracks))]
    public void ATrackSplitAtEveryOffsetOfAStreamIsMaskedAsInOneBuffer(string input, string expected)
    {
        byte[] data = Encoding.UTF8.GetBytes(input);
        PanMasker masker = TestKeys.Masker();
        for (int cut = 1; cut < data.Length; cut++)
        {
            int reads = 0;
            byte[] output = Segmented.Stream(masker, data, () => reads++ == 0 ? cut : data.Length, out long cards, out _);
            Assert.Equal(expected, Encoding.UTF8.GetString(output));
            Assert.Equal(1, cards);
        }
        // One byte per read: every boundary at once.
        byte[] bytewise = Segmented.Stream(masker, data, () => 1, out _, out _);
        Assert.Equal(expected, Encoding.UTF8.GetString(bytewise));
    }

    [Theory]
    [MemberData(nameof(Tracks))]
    public void ATrackSplitAtEverySegmentBoundaryIsMaskedAsInOneBuffer(string input, string expected)
    {
        byte[] original = Encoding.UTF8.GetBytes(input);
        PanMasker masker = TestKeys.Masker();
        for (int cut = 1; cut < original.Length; cut++)
        {
            byte[] data = (byte[])original.Clone();
            masker.MaskInPlace(Segmented.Sequence(data, [cut]));
            Assert.Equal(expected, Encoding.UTF8.GetString(data));
        }
    }

    [Fact]
    public void TheStreamMaskerCountsTracks()
    {
        byte[] data = Encoding.UTF8.GetBytes("a ;4111111111111111=2812101? b %B5555555555554444^DOE/J^2812? c");
        var stream = new PanStreamMasker(TestKeys.Masker());
        Assert.Equal(data.Length, stream.Process(data, isFinalBlock: true));
        Assert.Equal(2, stream.CardsMasked);
        Assert.Equal(2, stream.TracksMasked);
        Assert.Equal("a ;411111******1111=*******? b %B555555******4444^*****^****? c", Encoding.UTF8.GetString(data));
    }
}
