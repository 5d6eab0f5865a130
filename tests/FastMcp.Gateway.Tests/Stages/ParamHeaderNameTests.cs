using FastMcp.Gateway.Stages;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// MirroredHeaderMasking.IsParamHeader's two folded loads against the comparison it replaced (Ascii.EqualsIgnoreCase of
/// the first ten bytes with "Mcp-Param-") as the oracle, on names built from near misses at every position: each
/// letter in both cases and with its 0x20 bit flipped, the dash and the bytes that equal it once ORed with 0x20 (CR),
/// bytes above 0x7F, and lengths around eleven bytes.
/// </summary>
public sealed class ParamHeaderNameTests
{
    [Fact]
    public void The_folded_loads_answer_as_the_case_insensitive_comparison()
    {
        var random = new Random(1410);
        const string Prefix = "Mcp-Param-";
        int matches = 0;
        for (int i = 0; i < 200_000; i++)
        {
            int length = random.Next(0, 16);
            var name = new byte[length];
            for (int at = 0; at < length; at++)
            {
                byte target = at < Prefix.Length ? (byte)Prefix[at] : (byte)'x';
                name[at] = random.Next(8) switch
                {
                    0 => (byte)(target ^ 0x20),
                    1 => (byte)random.Next(256),
                    2 => (byte)'\r',
                    3 => (byte)(target | 0x80),
                    4 => (byte)char.ToLowerInvariant((char)target),
                    _ => target,
                };
            }
            bool oracle = name.Length > Prefix.Length && System.Text.Ascii.EqualsIgnoreCase(name.AsSpan(0, Prefix.Length), "Mcp-Param-"u8);
            Assert.True(oracle == MirroredHeaderMasking.IsParamHeader(name), $"{Convert.ToHexString(name)}: expected {oracle}");
            if (oracle) matches++;
        }
        Assert.True(matches > 100, $"{matches} matches");
        Assert.True(MirroredHeaderMasking.IsParamHeader("MCP-PARAM-Region"u8));
        Assert.False(MirroredHeaderMasking.IsParamHeader("Mcp-Param-"u8));
        Assert.False(MirroredHeaderMasking.IsParamHeader("Mcp\rParam-x"u8));
    }
}
