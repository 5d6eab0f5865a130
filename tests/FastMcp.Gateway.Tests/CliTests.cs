using FastMcp.Gateway.Cli;
using FastMcp.Gateway.Configuration;

namespace FastMcp.Gateway.Tests;

/// <summary>The CLI as a person expects: help on every command, "did you mean", configuration errors in our own words.</summary>
public sealed class CliTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fastmcp-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static (int? Exit, string Out) Help(params string[] args)
    {
        var stdout = new StringWriter();
        int? exit = CommandHelp.TryAnswer(args, stdout);
        return (exit, stdout.ToString());
    }

    [Theory]
    [InlineData("serve", "--audit-dir")]
    [InlineData("config", "--config FILE")]
    [InlineData("keys", "--private")]
    [InlineData("version", "fastmcp version")]
    public void Help_on_commands_that_refused_it_prints_their_options(string command, string expected)
    {
        var (exit, text) = Help(command, "--help");
        Assert.Equal(0, exit);
        Assert.Contains(expected, text, StringComparison.Ordinal);
        Assert.Equal(0, Help(command, "-h").Exit);
    }

    [Fact]
    public void Help_on_a_subcommand_prints_its_options()
    {
        Assert.Contains("--config FILE", Help("config", "check", "--help").Out, StringComparison.Ordinal);
        Assert.Contains("--public", Help("keys", "generate", "--help").Out, StringComparison.Ordinal);
        Assert.Contains("--listen", Help("serve", "--config", "x.json", "--help").Out, StringComparison.Ordinal);
    }

    [Fact]
    public void Help_COMMAND_works_for_every_listed_command_and_the_overview_lists_them_all()
    {
        var (exit, overview) = Help("--help");
        Assert.Equal(0, exit);
        foreach (string command in CommandHelp.Commands)
        {
            Assert.Contains("\n  " + command, overview, StringComparison.Ordinal);
            Assert.NotNull(CommandHelp.For(command));
            Assert.Equal(0, Help("help", command).Exit);
        }
        Assert.Equal(2, Help().Exit);
    }

    [Fact]
    public void The_docs_describe_every_command_of_the_overview()
    {
        // README's "Commands" section is the overview's command list, line for line.
        string readme = File.ReadAllText(Path.Combine(RepoRoot(), "README.md")).ReplaceLineEndings("\n");
        string list = CommandHelp.Overview[CommandHelp.Overview.IndexOf("commands:\n", StringComparison.Ordinal)..];
        foreach (string line in list.Split('\n'))
        {
            if (line.Trim().Length == 0 || line.StartsWith("commands:", StringComparison.Ordinal)) continue;
            Assert.Contains("\n    " + line.TrimEnd() + "\n", readme, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Commands_that_answer_help_themselves_are_left_to_their_parser()
    {
        Assert.Null(Help("token", "--help").Exit);
        Assert.Null(Help("serve", "--config", "x.json").Exit);
    }

    [Theory]
    [InlineData("serv", "serve")]
    [InlineData("confg", "config")]
    [InlineData("approval", "approvals")]
    [InlineData("verfiy", "verify")]
    public void An_unknown_command_names_the_closest_one(string typed, string meant)
    {
        UsageException e = CommandHelp.Unknown(typed);
        Assert.Contains($"did you mean '{meant}'?", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("did you mean", CommandHelp.Unknown("frobnicate").Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_flag_names_the_closest_one()
    {
        var e = Assert.Throws<UsageException>(() => ServeCommand.LoadOptions(["--audit-directory", "x"], out _));
        Assert.Contains("unknown option '--audit-directory'; did you mean '--audit-dir'?", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<UsageException>(() => ConfigCheckCommand.Run(["check", "--confg", "x"], TextWriter.Null, TextWriter.Null));
        Assert.Contains("did you mean '--config'?", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<UsageException>(() => ConfigCheckCommand.Run(["chek"], TextWriter.Null, TextWriter.Null));
        Assert.Contains("did you mean 'check'?", e.Message, StringComparison.Ordinal);
    }

    private string Write(string json)
    {
        string path = Path.Combine(_dir, "fastmcp.json");
        File.WriteAllText(path, json);
        return path;
    }

    [Fact]
    public void A_missing_file_is_said_in_words()
    {
        string path = Path.Combine(_dir, "nope.json");
        var e = Assert.Throws<ConfigurationException>(() => ConfigurationLoader.Load(path));
        Assert.Contains($"cannot read '{path}': no such file", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ConfigurationException>(() => ConfigurationLoader.Load(Path.Combine(_dir, "no", "such.json")));
        Assert.Contains("a folder on the path does not exist", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_syntax_error_names_the_file_line_and_byte_and_the_character()
    {
        string path = Write("{\n  \"listen\": [\"127.0.0.1:8080\"],\n  \"upstream\": { \"url\": $HOST }\n}");
        var e = Assert.Throws<ConfigurationException>(() => ConfigurationLoader.Load(path));
        Assert.Contains("not valid JSON at line 3, byte 24: unexpected character '$'", e.Message, StringComparison.Ordinal);
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("FoundInvalidCharacter", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_truncated_file_is_said_to_end_early()
    {
        var e = Assert.Throws<ConfigurationException>(() => ConfigurationLoader.Load(Write("{ \"listen\": [\"127.0.0.1:8080\"")));
        Assert.Contains("the file ends before the JSON is complete", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_field_is_named_with_the_closest_known_one()
    {
        var e = Assert.Throws<ConfigurationException>(() => ConfigurationLoader.Load(Write("{ \"upstream\": { \"urll\": \"http://127.0.0.1:1/mcp\" } }")));
        Assert.Equal("$.upstream.urll", e.Field);
        Assert.Contains("unknown field 'urll'", e.Message, StringComparison.Ordinal);
        Assert.Contains("did you mean 'url'?", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_value_of_the_wrong_type_names_the_field_and_the_type_expected()
    {
        var e = Assert.Throws<ConfigurationException>(() => ConfigurationLoader.Load(Write("{\n \"timeouts\": { \"shutdownMs\": \"ten\" } }")));
        Assert.Equal("$.timeouts.shutdownMs", e.Field);
        Assert.Contains("is not a whole number", e.Message, StringComparison.Ordinal);
        Assert.Contains("line 2", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ConfigurationException>(() => ConfigurationLoader.Load(Write("{ \"listen\": \"127.0.0.1:8080\" }")));
        Assert.Contains("is not an array", e.Message, StringComparison.Ordinal);
    }

    internal static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "FastMcp.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("repository root not found");
    }
}
