using System.Text;

namespace FastMcp.Identity.Tests;

public sealed class UpstreamCredentialTests : IDisposable
{
    private readonly string _file = Path.Combine(Path.GetTempPath(), "fastmcp-upstream-" + Guid.NewGuid().ToString("N"));

    public void Dispose() => File.Delete(_file);

    private static string Line(UpstreamCredential c) => Encoding.ASCII.GetString(c.HeaderLine);

    [Fact]
    public void Reads_the_file_and_builds_the_header_line()
    {
        File.WriteAllText(_file, "secret-1\n");
        using var credential = new UpstreamCredential(new UpstreamCredentialOptions { ValueFile = _file, FileCheckIntervalMilliseconds = 60_000 });
        Assert.Equal("Authorization: Bearer secret-1\r\n", Line(credential));
    }

    [Fact]
    public async Task Picks_up_a_changed_file_by_itself()
    {
        File.WriteAllText(_file, "secret-1");
        using var credential = new UpstreamCredential(new UpstreamCredentialOptions { ValueFile = _file, FileCheckIntervalMilliseconds = 50 });
        File.WriteAllText(_file, "secret-2");
        for (int i = 0; i < 100 && Line(credential).Contains("secret-1"); i++)
            await Task.Delay(50);
        Assert.Equal("Authorization: Bearer secret-2\r\n", Line(credential));
    }

    [Fact]
    public void A_value_with_a_line_break_is_rejected_and_the_old_value_kept()
    {
        File.WriteAllText(_file, "secret-1");
        using var credential = new UpstreamCredential(new UpstreamCredentialOptions { ValueFile = _file, FileCheckIntervalMilliseconds = 60_000 });
        File.WriteAllText(_file, "secret-2\r\nX-Injected: 1");
        Assert.False(credential.TryReload(out string? error));
        Assert.NotNull(error);
        Assert.Equal("Authorization: Bearer secret-1\r\n", Line(credential));
    }

    [Fact]
    public void Custom_header_without_scheme_from_environment()
    {
        string name = "FASTMCP_TEST_UPSTREAM_" + Guid.NewGuid().ToString("N");
        Environment.SetEnvironmentVariable(name, "k-123");
        try
        {
            using var credential = new UpstreamCredential(new UpstreamCredentialOptions { ValueEnv = name, HeaderName = "X-Api-Key", Scheme = "" });
            Assert.Equal("X-Api-Key: k-123\r\n", Line(credential));
            Assert.Equal("X-Api-Key", credential.HeaderName);
        }
        finally
        {
            Environment.SetEnvironmentVariable(name, null);
        }
    }

    [Fact]
    public void Nothing_configured_means_an_empty_line()
    {
        using var credential = new UpstreamCredential(new UpstreamCredentialOptions());
        Assert.True(credential.HeaderLine.IsEmpty);
        Assert.Null(credential.HeaderName);
    }

    [Fact]
    public void Missing_file_fails_at_start()
    {
        Assert.Throws<IdentityConfigurationException>(() => new UpstreamCredential(new UpstreamCredentialOptions { ValueFile = _file + ".absent" }));
    }
}
