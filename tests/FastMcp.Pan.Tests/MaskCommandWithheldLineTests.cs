using System.Text;

namespace FastMcp.Pan.Tests;

/// <summary>
/// fastmcp mask fails closed: a line it cannot fully mask (JSON nested past what it reads, or longer than it reads as
/// JSON) is not printed. It is replaced by a marker line naming its number, counted on stderr, and the exit code says
/// so. Run through the command's entry point with real files as stdin and stdout.
/// </summary>
public sealed class MaskCommandWithheldLineTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fastmcp-mask-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private (int Exit, string Out, string Err) RunOnFiles(string input)
    {
        string inPath = Path.Combine(_dir, "in.jsonl"), outPath = Path.Combine(_dir, "out.jsonl");
        File.WriteAllText(inPath, input);
        var stderr = new StringWriter();
        int exit;
        using (FileStream stdin = File.OpenRead(inPath))
        using (FileStream stdout = File.Create(outPath))
            exit = MaskCommand.Run(["--no-fingerprint"], stdin, stdout, stderr, _ => null);
        return (exit, File.ReadAllText(outPath), stderr.ToString());
    }

    private static string Nested(int depth, string inner) => new string('[', depth) + inner + new string(']', depth);

    [Fact]
    public void A_line_nested_past_1024_levels_is_withheld_and_the_lines_around_it_are_masked()
    {
        string deep = Nested(1100, "{\"cvv\":\"9731\"}");
        string input = "{\"cvv\":\"123\"}\n" + deep + "\n{\"pin\":\"4455\",\"card\":\"4111111111111111\"}\n";
        var (exit, output, err) = RunOnFiles(input);

        Assert.DoesNotContain("9731", output, StringComparison.Ordinal);
        string[] lines = output.Split('\n');
        Assert.Equal("{\"cvv\":\"***\"}", lines[0]);
        Assert.StartsWith("fastmcp mask: line 2 withheld", lines[1], StringComparison.Ordinal);
        Assert.Equal("{\"pin\":\"****\",\"card\":\"411111******1111\"}", lines[2]);
        Assert.Equal(4, lines.Length); // the input's three lines and the last newline: line numbers still line up
        Assert.Equal(3, exit);
        Assert.Contains("line 2", err, StringComparison.Ordinal);
        Assert.Contains("1 line(s) withheld", err, StringComparison.Ordinal);
    }

    [Fact]
    public void A_line_over_4_MiB_is_withheld_whole()
    {
        string big = "{\"cvv\":\"9731\",\"note\":\"" + new string('x', SensitiveMemberLines.MaxLineLength) + "\"}";
        var (exit, output, err) = RunOnFiles("{\"a\":1}\n" + big + "\n{\"b\":2}");

        Assert.DoesNotContain("9731", output, StringComparison.Ordinal);
        Assert.DoesNotContain("xxxx", output, StringComparison.Ordinal);
        string[] lines = output.Split('\n');
        Assert.Equal(3, lines.Length);
        Assert.Equal("{\"a\":1}", lines[0]);
        Assert.StartsWith("fastmcp mask: line 2 withheld", lines[1], StringComparison.Ordinal);
        Assert.Equal("{\"b\":2}", lines[2]);
        Assert.Equal(3, exit);
        Assert.Contains("1 line(s) withheld", err, StringComparison.Ordinal);
    }

    [Fact]
    public void A_deep_line_without_a_sensitive_name_and_a_plain_log_line_are_printed_masked()
    {
        // Nothing in the deep line could be masked by name, so nothing is missed; its card number is masked by the scan.
        string deep = Nested(1100, "\"4111111111111111\"");
        string input = deep + "\nINFO paid cvv=123 {\"pin\":\"4455\"}\n";
        var (exit, output, err) = RunOnFiles(input);

        Assert.Equal(0, exit);
        Assert.Equal(Nested(1100, "\"411111******1111\"") + "\nINFO paid cvv=123 {\"pin\":\"****\"}\n", output);
        Assert.DoesNotContain("withheld", err, StringComparison.Ordinal);
    }
}
