using FastMcp.Text;

namespace FastMcp.Gateway.Tests;

public sealed class ToolNameSkeletonTests
{
    [Theory]
    [InlineData("d\u0435ploy", "deploy")]            // Cyrillic е
    [InlineData("\u0440\u0430\u0443", "pay")]        // Cyrillic р а у
    [InlineData("\u03bf\u03c1en", "open")]           // Greek ο ρ
    [InlineData("\u0391PI", "APl")]                  // Greek Α; I reads as l
    [InlineData("dep\u200bloy\u202e", "deploy")]     // format characters left out
    [InlineData("\uff44eploy", "deploy")]            // fullwidth d
    [InlineData("dep1oy", "deploy")]
    [InlineData("Deploy", "Deploy")]                 // case is kept
    public void The_skeleton_reads_look_alikes_as_the_ascii_letter(string name, string skeleton) =>
        Assert.Equal(skeleton, ToolNameSkeleton.Of(name));

    [Fact]
    public void Names_sharing_a_skeleton_are_grouped_and_others_are_not()
    {
        List<List<string>> groups = ToolNameSkeleton.ConfusableGroups(["deploy", "status", "Deploy", "d\u0435ploy", "stat\u03c5s", "dep1oy"]);
        Assert.Equal(2, groups.Count);
        Assert.Equal(["deploy", "d\u0435ploy", "dep1oy"], groups[0]);
        Assert.Equal(["status", "stat\u03c5s"], groups[1]);
        Assert.Empty(ToolNameSkeleton.ConfusableGroups(["deploy", "Deploy", "caf\u00e9", "cafe_"]));
    }

    [Fact]
    public void Only_a_name_that_is_not_ascii_is_flagged()
    {
        Assert.Null(ToolNameSkeleton.Flag("deploy_v2"));
        Assert.Null(ToolNameSkeleton.Flag(null));
        Assert.Equal("not ASCII: U+0435 at 1; looks like 'deploy'", ToolNameSkeleton.Flag("d\u0435ploy"));
        Assert.Equal("not ASCII: U+00E9 at 3", ToolNameSkeleton.Flag("caf\u00e9"));
        Assert.Null(ToolNameSkeleton.Flag("a\tb")); // ASCII: the escaper shows the tab
        Assert.EndsWith(", and 2 more", ToolNameSkeleton.Flag(new string('\u00e9', 10)), StringComparison.Ordinal);
    }
}
