using System.Text;

namespace FastMcp.Mcp.Tests;

/// <summary>
/// <see cref="MemberNameFold.MayReadAs"/>: the policy's argument pointers ask it whether a member a case-insensitive
/// decoder reads as the pointer's name is there. It must agree with <see cref="MemberNameFold.TryFold"/> at any length.
/// </summary>
public class MemberNameFoldTests
{
    private static byte[] Fold(string name)
    {
        byte[] utf8 = Encoding.UTF8.GetBytes(name);
        var buffer = new byte[utf8.Length * 2];
        Assert.True(MemberNameFold.TryFold(utf8, buffer, out int written));
        return buffer[..written];
    }

    [Theory]
    [InlineData("PATH", "path")]
    [InlineData("\u212Aey", "key")]
    [InlineData("\u017Fource", "source")]
    [InlineData("ΣΧΉΜΑ", "σχήμα")]
    [InlineData("ÉTÉ", "été")]
    [InlineData("\u023A", "\u2C65")] // 2 bytes folding to 3
    [InlineData("ẞ", "ß")]
    [InlineData("", "")]
    public void Names_with_the_same_fold_are_read_as_each_other(string name, string target)
    {
        Assert.True(MemberNameFold.MayReadAs(Encoding.UTF8.GetBytes(name), Fold(target)));
        Assert.True(MemberNameFold.MayReadAs(Encoding.UTF8.GetBytes(target), Fold(name)));
    }

    [Theory]
    [InlineData("paths", "path")]
    [InlineData("pat", "path")]
    [InlineData("straße", "strasse")]
    [InlineData("pathé", "path")]
    [InlineData("path", "pathé")]
    [InlineData("", "a")]
    public void Names_with_another_fold_are_not(string name, string target)
    {
        Assert.False(MemberNameFold.MayReadAs(Encoding.UTF8.GetBytes(name), Fold(target)));
        Assert.False(MemberNameFold.MayReadAs(Encoding.UTF8.GetBytes(target), Fold(name)));
    }

    [Fact]
    public void Long_names_are_compared_whole()
    {
        string target = new string('a', 300) + "\u00e9" + new string('b', 300);
        Assert.True(MemberNameFold.MayReadAs(Encoding.UTF8.GetBytes(target.ToUpperInvariant()), Fold(target)));
        Assert.False(MemberNameFold.MayReadAs(Encoding.UTF8.GetBytes(target.ToUpperInvariant() + "C"), Fold(target)));
        Assert.False(MemberNameFold.MayReadAs(Encoding.UTF8.GetBytes(target.ToUpperInvariant()[..^1]), Fold(target)));
    }

    [Theory]
    [InlineData(new byte[] { (byte)'p', 0x00 })]
    [InlineData(new byte[] { (byte)'x', 0x7F })]
    [InlineData(new byte[] { (byte)'p', 0xC3 })] // invalid UTF-8: a lead byte with nothing after it
    public void A_name_with_no_fold_may_be_read_as_anything(byte[] name) =>
        Assert.True(MemberNameFold.MayReadAs(name, Fold("path")));
}
