using System.Text.RegularExpressions;
using FastMcp.Gateway.Stages;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// The data path's stage order lives in one place in code (Stages/ExchangeStage.cs); docs/architecture.md lists
/// the same stages in the same order. A stage added, removed or moved on one side only fails here.
/// </summary>
public sealed partial class ExchangeStageTests
{
    private static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "FastMcp.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("FastMcp.sln not found above " + AppContext.BaseDirectory);
    }

    [GeneratedRegex(@"^\d+a?\. \*\*(?<name>[^*]+)\*\*", RegexOptions.Multiline)]
    private static partial Regex NumberedStage();

    [Fact]
    public void Architecture_md_lists_the_stages_in_the_order_of_the_code()
    {
        string doc = File.ReadAllText(Path.Combine(RepoRoot(), "docs", "architecture.md"));
        string[] documented = [.. NumberedStage().Matches(doc).Select(m => m.Groups["name"].Value)];
        string[] coded = [.. Enum.GetValues<ExchangeStage>().Select(ExchangeStages.Name)];
        Assert.Equal(coded, documented);
    }

    [Fact]
    public void Every_stage_has_a_name() =>
        Assert.DoesNotContain("unknown", Enum.GetValues<ExchangeStage>().Select(ExchangeStages.Name));
}
