using System.Net;
using FastMcp.Audit;
using FastMcp.Gateway.Cli;
using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Hosting;

namespace FastMcp.Gateway.Tests;

/// <summary>
/// Custody of the audit signing key, as `fastmcp config check` and `fastmcp serve`
/// (GatewayStages.CreateAsync, which serve runs before it binds) enforce it: with identity mode
/// oidc the key must be configured, outside the audit directory and not readable by others.
/// </summary>
public sealed class SigningKeyCustodyTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fastmcp-key-custody-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string AuditDir => Path.Combine(_dir, "audit");

    private static string Q(string path) => "\"" + System.Text.Json.JsonEncodedText.Encode(path).ToString() + "\"";

    private string Key(string folder)
    {
        string dir = Directory.CreateDirectory(Path.Combine(_dir, folder)).FullName;
        string key = Path.Combine(dir, "audit-signing-key.pem");
        AuditKeys.Generate(key, Path.Combine(dir, "audit-signing-key.pub.pem"));
        return key;
    }

    private string WriteConfig(string mode, string? signingKey)
    {
        string keyField = signingKey is null ? "" : $", \"signingKeyPath\": {Q(signingKey)}";
        string issuers = mode == "oidc" ? """, "issuers": [{ "issuer": "https://login.example.com/realms/eng", "discovery": true }]""" : "";
        string path = Path.Combine(_dir, "fastmcp.json");
        File.WriteAllText(path, $$"""
            {
              "listen": ["127.0.0.1:0"],
              "admin": { "listen": "" },
              "upstream": { "url": "http://127.0.0.1:9/mcp" },
              "identity": { "mode": "{{mode}}", "resource": "http://127.0.0.1/mcp", "devKeyDirectory": {{Q(Path.Combine(_dir, "dev"))}}{{issuers}} },
              "policy": { "rules": [{ "name": "all", "action": "allow" }] },
              "audit": { "directory": {{Q(AuditDir)}}{{keyField}} }
            }
            """);
        return path;
    }

    private static (int Exit, string Err) Check(string config)
    {
        var stderr = new StringWriter();
        int exit = ConfigCheckCommand.Run(["check", "--config", config], TextWriter.Null, stderr);
        return (exit, stderr.ToString());
    }

    /// <summary>What serve does with the file before it binds a socket: load, validate, build the stages.</summary>
    private static async Task<ConfigurationException> ServeRefusesAsync(string config)
    {
        GatewayOptions options = ServeCommand.LoadOptions(["--config", config], out _);
        return await Assert.ThrowsAsync<ConfigurationException>(async () =>
        {
            await using GatewayStages stages = await GatewayStages.CreateAsync(options, [new IPEndPoint(IPAddress.Loopback, 0)], CancellationToken.None);
        });
    }

    [Fact]
    public async Task Oidc_without_a_configured_key_is_refused_and_no_key_is_generated()
    {
        string config = WriteConfig("oidc", null);
        var (exit, err) = Check(config);
        Assert.Equal(2, exit);
        Assert.Contains("'audit.signingKeyPath': required when identity.mode is oidc", err, StringComparison.Ordinal);

        ConfigurationException e = await ServeRefusesAsync(config);
        Assert.Equal("audit.signingKeyPath", e.Field);
        Assert.False(File.Exists(Path.Combine(AuditDir, "audit-signing-key.pem")));
    }

    [Fact]
    public async Task Oidc_with_the_key_inside_the_audit_directory_is_refused()
    {
        string key = Key("audit");
        string config = WriteConfig("oidc", key);
        var (exit, err) = Check(config);
        Assert.Equal(2, exit);
        Assert.Contains("'audit.signingKeyPath'", err, StringComparison.Ordinal);
        Assert.Contains("inside the audit directory", err, StringComparison.Ordinal);

        ConfigurationException e = await ServeRefusesAsync(config);
        Assert.Equal("audit.signingKeyPath", e.Field);
        Assert.Contains("inside the audit directory", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_symbolic_link_elsewhere_to_a_key_inside_the_audit_directory_is_refused()
    {
        if (OperatingSystem.IsWindows()) return;
        string inside = Key("audit");
        string link = Path.Combine(Directory.CreateDirectory(Path.Combine(_dir, "secrets")).FullName, "key.pem");
        File.CreateSymbolicLink(link, inside);
        var (exit, err) = Check(WriteConfig("oidc", link));
        Assert.Equal(2, exit);
        Assert.Contains("inside the audit directory", err, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0b110_100_100, "accessible to other users (mode 0644)")]
    [InlineData(0b110_000_001, "accessible to other users (mode 0601)")]
    [InlineData(0b110_110_000, "writable by its group (mode 0660)")]
    public async Task A_key_others_can_read_or_write_is_refused(int mode, string expected)
    {
        if (OperatingSystem.IsWindows()) return;
        string key = Key("secrets");
        File.SetUnixFileMode(key, (UnixFileMode)mode);
        string config = WriteConfig("oidc", key);
        var (exit, err) = Check(config);
        Assert.Equal(2, exit);
        Assert.Contains("'audit.signingKeyPath'", err, StringComparison.Ordinal);
        Assert.Contains(expected, err, StringComparison.Ordinal);

        ConfigurationException e = await ServeRefusesAsync(config);
        Assert.Equal("audit.signingKeyPath", e.Field);
    }

    [Fact]
    public void The_development_modes_refuse_a_world_readable_key_too()
    {
        if (OperatingSystem.IsWindows()) return;
        string key = Key("secrets");
        File.SetUnixFileMode(key, (UnixFileMode)0b110_100_100);
        var (exit, err) = Check(WriteConfig("dev", key));
        Assert.Equal(2, exit);
        Assert.Contains("accessible to other users", err, StringComparison.Ordinal);
    }

    [Fact]
    public void Owner_only_outside_the_audit_directory_passes_and_so_does_group_read_by_the_gateways_own_group()
    {
        string key = Key("secrets");
        Assert.Equal((0, ""), Check(WriteConfig("oidc", key)));
        if (OperatingSystem.IsWindows()) return;
        // How Kubernetes mounts a Secret in a pod with fsGroup = runAsGroup: 0440, group = the gateway's group.
        File.SetUnixFileMode(key, UnixFileMode.UserRead | UnixFileMode.GroupRead);
        Assert.Equal((0, ""), Check(WriteConfig("oidc", key)));
    }

    [Fact]
    public async Task The_embedded_defaults_still_start_with_no_file_and_keep_a_development_key_in_the_audit_directory()
    {
        GatewayOptions options = ServeCommand.LoadOptions(["--audit-dir", AuditDir, "--listen", "127.0.0.1:0"], out string? configPath);
        Assert.Null(configPath);
        options.Identity!.DevKeyDirectory = Path.Combine(_dir, "dev");
        options.Upstream.Url = "http://127.0.0.1:9/mcp";
        await using (GatewayStages stages = await GatewayStages.CreateAsync(options, [new IPEndPoint(IPAddress.Loopback, 0)], CancellationToken.None))
        {
            Assert.NotNull(stages.Audit);
        }
        Assert.True(File.Exists(Path.Combine(AuditDir, "audit-signing-key.pem")));
        Assert.True(File.Exists(Path.Combine(AuditDir, "audit-signing-key.pub.pem")));
    }
}
