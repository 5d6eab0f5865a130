using FastMcp.Gateway.Cli;
using FastMcp.Gateway.Configuration;

namespace FastMcp.Gateway.Tests;

/// <summary>`fastmcp config check`: the same load and validation as serve, run in-process; exit 0 or 2 with the field named.</summary>
public sealed class ConfigCheckCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fastmcp-config-check-").FullName;

    public ConfigCheckCommandTests()
    {
        // Production custody: the key outside the audit directory, owner-only.
        Directory.CreateDirectory(Path.Combine(_dir, "keys"));
        FastMcp.Audit.AuditKeys.Generate(SigningKey, Path.Combine(_dir, "keys", "audit.pub.pem"));
    }

    private string SigningKey => Path.Combine(_dir, "keys", "audit.pem");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string AuditDir => Path.Combine(_dir, "audit");

    /// <summary>A path as a JSON string literal.</summary>
    private static string Q(string path) => "\"" + path.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";

    /// <summary>A complete OIDC configuration on a non-loopback listener, as a deployment would write it.</summary>
    private string ValidJson(string extraIdentity = "", string extraTop = "") => $$"""
        {
          // comments are allowed
          "listen": ["0.0.0.0:8080"],
          "admin": { "listen": "0.0.0.0:9090" },
          "upstream": { "url": "http://mcp-upstream.default.svc:3001/mcp" },
          "identity": {
            "mode": "oidc",
            "resource": "https://mcp.example.com/mcp",
            "issuers": [{ "issuer": "https://login.example.com/realms/eng", "discovery": true }]{{extraIdentity}}
          },
          "policy": { "rules": [{ "name": "protocol", "action": "allow", "methods": ["initialize", "ping", "tools/list"] }] },
          "audit": { "directory": {{Q(AuditDir)}}, "signingKeyPath": {{Q(SigningKey)}} }{{extraTop}}
        }
        """;

    private string Write(string json)
    {
        string path = Path.Combine(_dir, "fastmcp.json");
        File.WriteAllText(path, json);
        return path;
    }

    private static (int Exit, string Out, string Err) Check(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int exit = ConfigCheckCommand.Run(args, stdout, stderr);
        return (exit, stdout.ToString(), stderr.ToString());
    }

    /// <summary>Checks <paramref name="json"/> and expects exit 2 with <paramref name="named"/> on stderr.</summary>
    private void AssertRefused(string json, string named)
    {
        var (exit, _, stderr) = Check("check", "--config", Write(json));
        Assert.Equal(2, exit);
        Assert.Contains(named, stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void A_valid_file_is_reported_OK_and_nothing_is_written()
    {
        string path = Write(ValidJson());
        var (exit, stdout, stderr) = Check("check", "--config", path);
        Assert.Equal(0, exit);
        Assert.Equal($"configuration OK: {path}" + Environment.NewLine, stdout);
        Assert.Equal("", stderr);
        // The check creates nothing (serve creates the audit folder).
        Assert.False(Directory.Exists(AuditDir));
    }

    [Fact]
    public void Broken_json_exits_2_naming_the_position()
    {
        string path = Write("""{ "listen": ["0.0.0.0:8080"], "upstream": { "url": """);
        var (exit, stdout, stderr) = Check("check", "--config", path);
        Assert.Equal(2, exit);
        Assert.Equal("", stdout);
        Assert.StartsWith("fastmcp: configuration error at '$.upstream", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_field_exits_2_naming_it()
    {
        string path = Write(ValidJson(extraTop: """, "retries": 3"""));
        var (exit, _, stderr) = Check("check", "--config", path);
        Assert.Equal(2, exit);
        Assert.Contains("retries", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void An_invalid_value_exits_2_naming_the_field()
    {
        string path = Write(ValidJson(extraTop: """, "timeouts": { "shutdownMs": 0 }"""));
        var (exit, _, stderr) = Check("check", "--config", path);
        Assert.Equal(2, exit);
        Assert.Contains("configuration error at 'timeouts.shutdownMs'", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void A_batched_bound_below_one_flush_exits_2_naming_the_field()
    {
        string json = ValidJson().Replace("\"signingKeyPath\"", "\"durability\": \"Batched\", \"batchedMaxPendingBytes\": 32768, \"signingKeyPath\"", StringComparison.Ordinal);
        AssertRefused(json, "configuration error at 'audit.batchedMaxPendingBytes'");
        AssertRefused(json, "must be at least Audit.BatchedFlushBytes (65536)");
    }

    [Fact]
    public void What_serve_checks_at_start_is_checked_too_anonymous_off_loopback()
    {
        string json = ValidJson().Replace("\"mode\": \"oidc\"", "\"mode\": \"anonymous\"", StringComparison.Ordinal);
        AssertRefused(json, "anonymous is allowed only on loopback");
    }

    [Fact]
    public void A_policy_that_does_not_compile_is_named()
    {
        string json = ValidJson().Replace("\"action\": \"allow\"", "\"action\": \"allow\", \"requiredApprovals\": 2", StringComparison.Ordinal);
        AssertRefused(json, "'policy.rules[protocol].requiredApprovals'");
    }

    private const string WhereAndWhen =
        "\"action\": \"allow\", \"addresses\": [\"10.20.0.0/16\", \"2001:db8::/32\"], " +
        "\"time\": { \"timeZone\": \"Europe/Berlin\", \"days\": [\"mon\", \"fri\"], \"from\": \"22:00\", \"to\": \"06:00\", \"notBefore\": \"2026-12-20T00:00:00Z\" }";

    [Fact]
    public void Addresses_and_a_time_window_are_read_from_the_file()
    {
        string json = ValidJson().Replace("\"action\": \"allow\"", WhereAndWhen, StringComparison.Ordinal);
        var (exit, _, stderr) = Check("check", "--config", Write(json));
        Assert.Equal("", stderr);
        Assert.Equal(0, exit);
    }

    [Theory]
    [InlineData("10.20.0.0/16", "10.20.0.1/16", "'policy.rules[protocol].addresses[0]'")]
    [InlineData("Europe/Berlin", "Europe/Atlantis", "'policy.rules[protocol].time.timeZone'")]
    [InlineData("\"fri\"", "\"friday\"", "'policy.rules[protocol].time.days[1]'")]
    [InlineData("2026-12-20T00:00:00Z", "2026-12-20 00:00", "'policy.rules[protocol].time.notBefore'")]
    public void An_address_or_time_the_policy_cannot_read_is_named(string written, string broken, string named)
    {
        string json = ValidJson().Replace("\"action\": \"allow\"", WhereAndWhen.Replace(written, broken, StringComparison.Ordinal), StringComparison.Ordinal);
        AssertRefused(json, named);
    }

    [Fact]
    public void A_shipping_s3_setting_is_named_by_its_place_in_the_file()
    {
        string shipping = """, "shipping": { "target": "S3", "s3": { "region": "eu-west-1" } }""";
        string json = ValidJson().Replace($"\"signingKeyPath\": {Q(SigningKey)} }}", $"\"signingKeyPath\": {Q(SigningKey)}{shipping} }}", StringComparison.Ordinal);
        AssertRefused(json, "'audit.shipping.s3.bucket'");
    }

    [Theory]
    [InlineData("https://s3.internal:9000", "missing", "no such file")]
    [InlineData("https://s3.internal:9000", "empty", "holds no PEM certificate")]
    [InlineData("http://s3.internal:9000", "empty", "not an https:// URL")]
    public void A_shipping_s3_caFile_that_cannot_be_used_is_named(string endpoint, string file, string says)
    {
        string caFile = Path.Combine(_dir, file + ".pem");
        if (file == "empty") File.WriteAllText(caFile, "no certificate here\n");
        string shipping = $$""", "shipping": { "target": "S3", "s3": { "endpoint": "{{endpoint}}", "bucket": "audit", "caFile": {{Q(caFile)}} } }""";
        string json = ValidJson().Replace($"\"signingKeyPath\": {Q(SigningKey)} }}", $"\"signingKeyPath\": {Q(SigningKey)}{shipping} }}", StringComparison.Ordinal);
        Assert.Contains("\"caFile\"", json, StringComparison.Ordinal);
        var (exit, _, stderr) = Check("check", "--config", Write(json));
        Assert.Equal(2, exit);
        Assert.Contains("audit.shipping.s3.caFile", stderr, StringComparison.Ordinal);
        Assert.Contains(says, stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_secret_file_is_named()
    {
        string missing = Path.Combine(_dir, "no-such-token");
        string json = ValidJson(extraIdentity: $$""", "upstreamCredential": { "valueFile": {{Q(missing)}} }""");
        AssertRefused(json, "identity.upstreamCredential.valueFile");
    }

    [Fact]
    public void A_secret_that_is_refused_is_not_printed()
    {
        string keyFile = Path.Combine(_dir, "pan-key");
        File.WriteAllText(keyFile, "0011223344556677\n"); // 8 bytes of hex: too short
        string json = ValidJson(extraTop: $$""", "masking": { "fingerprintKeyFile": {{Q(keyFile)}} }""");
        var (exit, stdout, stderr) = Check("check", "--config", Write(json));
        Assert.Equal(2, exit);
        Assert.Contains("masking.fingerprintKeyFile", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("0011223344556677", stderr + stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void A_configured_signing_key_that_is_not_a_key_is_named()
    {
        string keyFile = Path.Combine(_dir, "signing.pem");
        File.WriteAllText(keyFile, "not a pem file\n");
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(keyFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        string json = ValidJson().Replace(Q(SigningKey), Q(keyFile), StringComparison.Ordinal);
        AssertRefused(json, "'audit.signingKeyPath'");
    }

    [Fact]
    public void A_previous_public_key_that_does_not_load_is_named_and_one_that_does_is_accepted()
    {
        string missing = Path.Combine(_dir, "old-audit-key.pub.pem");
        string json = ValidJson().Replace("\"audit\": {", $"\"audit\": {{ \"previousPublicKeys\": [{Q(missing)}],", StringComparison.Ordinal);
        AssertRefused(json, "'audit.previousPublicKeys'");

        FastMcp.Audit.AuditKeys.Generate(Path.Combine(_dir, "old-audit-key.pem"), missing);
        var (exit, _, stderr) = Check("check", "--config", Write(json));
        Assert.True(exit == 0, stderr);
    }

    [Fact]
    public void An_invalid_audit_setting_is_named_as_the_file_spells_it()
    {
        string json = ValidJson().Replace("\"audit\": {", "\"audit\": { \"maxSegmentBytes\": 100,", StringComparison.Ordinal);
        AssertRefused(json, "'audit.maxSegmentBytes'");
    }

    [Fact]
    public void A_missing_file_exits_2()
    {
        var (exit, _, stderr) = Check("check", "--config", Path.Combine(_dir, "absent.json"));
        Assert.Equal(2, exit);
        Assert.Contains("cannot read", stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("check")]
    [InlineData("check --config")]
    [InlineData("lint --config x.json")]
    public void Usage_errors_are_usage_errors(string commandLine)
    {
        string[] args = commandLine.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.Throws<UsageException>(() => ConfigCheckCommand.Run(args, TextWriter.Null, TextWriter.Null));
    }
}
