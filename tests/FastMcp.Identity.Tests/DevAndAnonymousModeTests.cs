using System.Net;
using System.Text;
using FastMcp.Identity.Tests.Support;

namespace FastMcp.Identity.Tests;

public sealed class DevAndAnonymousModeTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "fastmcp-dev-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir))
            Directory.Delete(_dir, true);
    }

    private string Mint(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = TokenCommand.Run([.. args, "--key-dir", _dir], stdout, stderr);
        Assert.True(code == 0, stderr.ToString());
        return stdout.ToString().Trim();
    }

    [Fact]
    public async Task Token_command_mints_a_token_that_dev_mode_trusts()
    {
        string token = Mint("token", "--sub", "alice", "--groups", "sre,oncall", "--scopes", "mcp:tools");
        var options = new IdentityOptions { Mode = IdentityModes.Dev, Resource = "http://127.0.0.1:8080/mcp", DevKeyDirectory = _dir };
        await using var validator = await TokenValidator.CreateAsync(options);
        var result = await validator.ValidateAsync(Encoding.ASCII.GetBytes("Bearer " + token));
        Assert.True(result.Succeeded, result.ToString());
        Assert.Equal("alice", result.Principal!.Subject);
        Assert.Equal(["sre", "oncall"], result.Principal.Groups);
        Assert.Equal(["mcp:tools"], result.Principal.Scopes);
        Assert.Equal(DevKeys.Issuer, result.Principal.Issuer);
        Assert.True(result.Principal.ExpiresUtc <= DateTimeOffset.UtcNow + TokenCommand.DefaultLifetime);
    }

    [Fact]
    public async Task Dev_tokens_are_not_trusted_outside_dev_mode()
    {
        string token = Mint("--sub", "alice");
        await using var f = await ValidatorFixture.CreateAsync();
        Assert.Equal(AuthFailure.WrongIssuer, (await f.ValidateAsync(token)).Failure);
    }

    [Fact]
    public async Task Dev_key_persists_between_runs()
    {
        string first = Mint("--sub", "a");
        string second = Mint("--sub", "b");
        Assert.Equal(first.Split('.')[0], second.Split('.')[0]); // same header, so same kid
        Assert.True(File.Exists(Path.Combine(_dir, DevKeys.KeyFileName)));
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(_dir, DevKeys.KeyFileName)));
    }

    [Theory]
    [InlineData("--groups", "sre")]
    [InlineData("--sub", "a", "--ttl", "48h")]
    [InlineData("--sub", "a", "--bogus", "x")]
    public void Token_command_rejects_bad_arguments(params string[] args)
    {
        var stderr = new StringWriter();
        Assert.Equal(2, TokenCommand.Run([.. args, "--key-dir", _dir], new StringWriter(), stderr));
        Assert.Contains("fastmcp token:", stderr.ToString());
    }

    [Fact]
    public async Task Anonymous_mode_makes_everyone_anonymous()
    {
        var options = new IdentityOptions { Mode = IdentityModes.Anonymous };
        await using var validator = await TokenValidator.CreateAsync(options);
        var result = await validator.ValidateAsync(ReadOnlyMemory<byte>.Empty);
        Assert.True(result.Succeeded);
        Assert.Same(Principal.Anonymous, result.Principal);
        Assert.True(result.Principal!.IsAnonymous);
        Assert.Equal("anonymous", result.Principal.Subject);
    }

    [Fact]
    public void Anonymous_mode_is_refused_on_non_loopback_listeners()
    {
        var options = new IdentityOptions { Mode = IdentityModes.Anonymous };
        options.ValidateListener(new IPEndPoint(IPAddress.Loopback, 8080));
        options.ValidateListener(new IPEndPoint(IPAddress.IPv6Loopback, 8080));
        Assert.Throws<IdentityConfigurationException>(() => options.ValidateListener(new IPEndPoint(IPAddress.Any, 8080)));
        Assert.Throws<IdentityConfigurationException>(() => options.ValidateListener(new IPEndPoint(IPAddress.Parse("10.0.0.5"), 8080)));
        new IdentityOptions { Resource = "https://x/mcp", Issuers = [new() { Issuer = "https://i" }] }.ValidateListener(new IPEndPoint(IPAddress.Any, 1));
    }

    [Fact]
    public void Dev_mode_is_refused_on_non_loopback_listeners()
    {
        var options = new IdentityOptions { Mode = IdentityModes.Dev };
        options.ValidateListener(new IPEndPoint(IPAddress.Loopback, 8080));
        options.ValidateListener(new IPEndPoint(IPAddress.IPv6Loopback, 8080));
        var e = Assert.Throws<IdentityConfigurationException>(() => options.ValidateListener(new IPEndPoint(IPAddress.Any, 8080)));
        Assert.Contains("dev is allowed only on loopback", e.Message, StringComparison.Ordinal);
        Assert.Throws<IdentityConfigurationException>(() => options.ValidateListener(new IPEndPoint(IPAddress.Parse("10.0.0.5"), 8080)));
    }
}
