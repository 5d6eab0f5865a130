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

    [Theory]
    [InlineData("tools", "pin", "--out", "x")]
    [InlineData("keys", "generate")]
    [InlineData("token")]
    [InlineData("verify")]
    public void A_usage_error_quotes_the_argument_escaped(params string[] command)
    {
        // An argument pasted from anywhere: erase the line, return, and print a verdict; a right-to-left override; a zero-width space.
        const string Pasted = "--x\u001b[2K\rVALID\u202e\u200b";
        var (exit, output, err) = Run([.. command, Pasted]);
        Assert.Equal(2, exit);
        Assert.Contains(@"--x\x1b[2K\rVALID\u202e\u200b", err, StringComparison.Ordinal);
        Assert.DoesNotContain('\u001b', err + output);
        Assert.DoesNotContain('\r', err + output);
        Assert.DoesNotContain('\u202e', err + output);
        Assert.DoesNotContain('\u200b', err + output);
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

    [Fact]
    public void Keys_generate_says_file_problems_in_words_and_keeps_no_half_pair()
    {
        string priv = Path.Combine(_dir, "audit.key.pem");
        string missingFolder = Path.Combine(_dir, "no-such-folder", "audit.pub.pem");

        // The public key cannot be written: the error names it in words, and the private key just written is removed.
        var (exit, _, err) = Run("keys", "generate", "--private", priv, "--public", missingFolder);
        Assert.Equal(2, exit);
        Assert.Contains($"'{missingFolder}': cannot write: a folder on the path does not exist", err, StringComparison.Ordinal);
        Assert.DoesNotContain("IO_", err, StringComparison.Ordinal);
        Assert.False(File.Exists(priv), "half a key pair was left behind");

        string pub = Path.Combine(_dir, "audit.pub.pem");
        Assert.Equal(0, Run("keys", "generate", "--private", priv, "--public", pub).Exit);
        Assert.StartsWith("-----BEGIN PRIVATE KEY-----", File.ReadAllText(priv), StringComparison.Ordinal);

        // A second run refuses to overwrite, naming the file; the existing pair is untouched.
        string before = File.ReadAllText(priv);
        var (again, _, refusal) = Run("keys", "generate", "--private", priv, "--public", Path.Combine(_dir, "other.pub.pem"));
        Assert.Equal(2, again);
        Assert.Contains($"'{priv}': already exists; refusing to overwrite a signing key", refusal, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllText(priv));

        var (dirExit, _, dirErr) = Run("keys", "generate", "--private", Path.Combine(_dir, "nope", "k.pem"), "--public", Path.Combine(_dir, "p2.pem"));
        Assert.Equal(2, dirExit);
        Assert.Contains("cannot write: a folder on the path does not exist", dirErr, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(_dir, "p2.pem")));
    }

    // Resource-key prefixes the framework's messages carry under UseSystemResourceKeys.
    private static void AssertNoResourceKey(string text)
    {
        foreach (string key in new[] { "IO_", "net_", "UnauthorizedAccess_", "Arg_", "Argument_" })
            Assert.DoesNotContain(key, text, StringComparison.Ordinal);
    }

    private static string Json(string value) => System.Text.Json.JsonSerializer.Serialize(value);

    /// <summary>A configuration serve would accept but for <paramref name="identity"/> and <paramref name="extra"/>.</summary>
    private string WriteConfig(string identity, string extra = "")
    {
        string path = Path.Combine(_dir, "gateway.json");
        File.WriteAllText(path, $$"""
            { "listen": ["127.0.0.1:0"], "upstream": { "url": "http://127.0.0.1:9/mcp" },
              "audit": { "directory": {{Json(Path.Combine(_dir, "audit"))}}, "signingKeyPath": {{Json(SigningKey())}} },
              "policy": { "rules": [{ "name": "all", "action": "allow" }] },
              "identity": {{identity}}{{extra}} }
            """);
        return path;
    }

    // oidc mode wants the audit signing key outside the audit folder and owner-only: the binary makes one so.
    private string SigningKey()
    {
        string path = Path.Combine(_dir, "audit-signing-key.pem");
        if (!File.Exists(path)) Assert.Equal(0, Run("keys", "generate", "--private", path, "--public", Path.Combine(_dir, "audit.pub.pem")).Exit);
        return path;
    }

    [Fact]
    public void Config_check_names_an_unreadable_credential_file_in_words()
    {
        string missing = Path.Combine(_dir, "no-such-token");
        string config = WriteConfig($$"""{ "mode": "anonymous", "upstreamCredential": { "valueFile": {{Json(missing)}} } }""");
        var (exit, _, err) = Run("config", "check", "--config", config);
        Assert.Equal(2, exit);
        Assert.Contains("upstreamCredential", err, StringComparison.Ordinal);
        Assert.Contains($"'{missing}': no such file", err, StringComparison.Ordinal);
        AssertNoResourceKey(err);
    }

    [Fact]
    public void Config_check_names_a_webhook_secret_folder_in_words()
    {
        // A folder where the secret file should be: the reason says so rather than a resource key.
        string folder = Directory.CreateDirectory(Path.Combine(_dir, "secret-folder")).FullName;
        string config = WriteConfig("""{ "mode": "anonymous" }""", $$""", "approvals": { "webhook": { "url": "http://127.0.0.1:9/hook", "secretFile": {{Json(folder)}} } }""");
        var (exit, _, err) = Run("config", "check", "--config", config);
        Assert.Equal(2, exit);
        Assert.Contains("approvals.webhook.secretFile", err, StringComparison.Ordinal);
        Assert.Contains($"'{folder}': it is a folder, not a file", err, StringComparison.Ordinal);
        AssertNoResourceKey(err);
    }

    [Fact]
    public void Serve_names_a_missing_jwks_file_in_words()
    {
        string missing = Path.Combine(_dir, "no-such-jwks.json");
        string config = WriteConfig($$"""{ "mode": "oidc", "resource": "http://127.0.0.1:8080/mcp", "issuers": [{ "issuer": "https://idp.test", "audience": "a", "jwksFile": {{Json(missing)}}, "discovery": false }] }""");
        var (exit, _, err) = Run("serve", "--config", config);
        Assert.NotEqual(0, exit);
        Assert.Contains("jwksFile", err, StringComparison.Ordinal);
        Assert.Contains($"'{missing}': no such file", err, StringComparison.Ordinal);
        AssertNoResourceKey(err);
    }

    [Fact]
    public void Mask_names_a_missing_key_file_in_words()
    {
        string missing = Path.Combine(_dir, "no-such-key");
        var (exit, _, err) = Run("mask", "--key-file", missing);
        Assert.Equal(2, exit);
        Assert.Contains($"cannot read key file '{missing}': no such file", err, StringComparison.Ordinal);
        AssertNoResourceKey(err);
    }

    [Fact]
    public void Approvals_names_a_missing_token_file_in_words()
    {
        string missing = Path.Combine(_dir, "no-such-token");
        var (exit, _, err) = Run("approvals", "list", "--admin", "http://127.0.0.1:9", "--token-file", missing);
        Assert.Equal(2, exit);
        Assert.Contains($"--token-file: cannot read '{missing}': no such file", err, StringComparison.Ordinal);
        AssertNoResourceKey(err);
    }

    [Fact]
    public void A_refused_admin_connection_is_said_in_words()
    {
        int port;
        using (var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0))
        {
            listener.Start();
            port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        }
        var (exit, _, err) = Run("tools", "pin", "--out", Path.Combine(_dir, "pins.json"), "--admin", $"http://127.0.0.1:{port}");
        Assert.NotEqual(0, exit);
        Assert.Contains($"cannot reach http://127.0.0.1:{port}: cannot connect: connection refused", err, StringComparison.Ordinal);
        AssertNoResourceKey(err);
        Assert.False(File.Exists(Path.Combine(_dir, "pins.json")));
    }
}
