using System.Diagnostics;
using FastMcp.Interop.Tests.Harness;

namespace FastMcp.Interop.Tests;

/// <summary>
/// The CLI's messages from the real binary (in CI the Native-AOT one, built with UseSystemResourceKeys,
/// which turns framework messages into resource keys): every message here must be our own words.
/// </summary>
public sealed class CliMessagesTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fastmcp-cli-msg-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static (int Exit, string Out, string Err) Run(params string[] args)
    {
        var (file, prefix, _) = GatewayProcess.Locate();
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in prefix) start.ArgumentList.Add(a);
        foreach (string a in args) start.ArgumentList.Add(a);
        using Process p = Process.Start(start)!;
        Task<string> stdout = p.StandardOutput.ReadToEndAsync();
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(60_000))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException("fastmcp did not exit");
        }
        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    [Fact]
    public void A_syntax_error_is_named_by_file_line_byte_and_field()
    {
        string path = Path.Combine(_dir, "bad.json");
        File.WriteAllText(path, "{\n  \"upstream\": { \"url\": $HOST }\n}");
        var (exit, _, err) = Run("config", "check", "--config", path);
        Assert.Equal(2, exit);
        Assert.Contains("'$.upstream.url'", err, StringComparison.Ordinal);
        Assert.Contains("not valid JSON at line 2, byte 24: unexpected character '$'", err, StringComparison.Ordinal);
        Assert.DoesNotContain("FoundInvalidCharacter", err, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_file_is_said_in_words()
    {
        string path = Path.Combine(_dir, "missing.json");
        var (exit, _, err) = Run("serve", "--config", path);
        Assert.Equal(2, exit);
        Assert.Contains($"cannot read '{path}': no such file", err, StringComparison.Ordinal);
        Assert.DoesNotContain("IO_FileNotFound", err, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_field_and_a_wrong_type_are_said_in_words()
    {
        string path = Path.Combine(_dir, "shape.json");
        File.WriteAllText(path, "{ \"timeouts\": { \"shutdownMs\": \"ten\" } }");
        Assert.Contains("'$.timeouts.shutdownMs': " + path + ": the value (line 1", Run("config", "check", "--config", path).Err, StringComparison.Ordinal);
        File.WriteAllText(path, "{ \"upstream\": { \"urll\": \"http://127.0.0.1:1/mcp\" } }");
        Assert.Contains("unknown field 'urll'", Run("config", "check", "--config", path).Err, StringComparison.Ordinal);
    }

    [Fact]
    public void Help_and_did_you_mean_work_in_the_binary()
    {
        var (exit, stdout, _) = Run("serve", "--help");
        Assert.Equal(0, exit);
        Assert.Contains("--audit-dir", stdout, StringComparison.Ordinal);
        Assert.Equal(0, Run("keys", "generate", "--help").Exit);
        Assert.Equal(0, Run("config", "check", "--help").Exit);
        var (badExit, _, err) = Run("serv");
        Assert.Equal(2, badExit);
        Assert.Contains("did you mean 'serve'?", err, StringComparison.Ordinal);
    }
}
