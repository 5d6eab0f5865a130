using FastMcp.Audit;
using FastMcp.Gateway.Cli;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests.RedTeam;

/// <summary>
/// Text a caller, an upstream, another approver or a configuration chose reaches an operator's terminal through the
/// CLI: a line break with a forged line, CR and erase-line (ESC[2K), OSC 8 links, OSC 52 clipboard writes, C1 controls.
/// What `approvals list/show`, `replay`, `tools pin`, `config check` and `policy test` print shows each as an escape,
/// so an approver sees exactly what they approve; the JSON outputs stay JSON holding the text exactly.
/// </summary>
public sealed class TerminalEscapeTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "fastmcp-termesc-" + Guid.NewGuid().ToString("N"));

    public TerminalEscapeTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public async Task Approvals_list_and_show_and_replay_print_a_hostile_tool_name_arguments_and_comment_escaped()
    {
        await using PolicyGateway gw = await PolicyGateway.StartAsync(
            x => x.RespondJsonAsync("{\"jsonrpc\":\"2.0\",\"id\":" + x.Request.IdJson() + ",\"result\":{}}"),
            [new RuleOptions { Name = "held", Action = "require_approval", Methods = ["tools/call"], Approvers = ["release"], ApprovalMode = "grant", GrantWindowSeconds = 600 }]);
        // Arguments carry a raw C1 CSI (JSON allows it unescaped) besides the escaped controls.
        string call = "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{\"name\":" + HostileText.Json
            + ",\"arguments\":{\"note\":\"a\u009b2Kb\",\"more\":" + HostileText.Json + "}}}";
        RawResponse refused = await gw.PostAsync(call, gw.Token("alice", "dev"));
        Assert.Contains("-32002", refused.Body, StringComparison.Ordinal);

        string tokenFile = Path.Combine(_dir, "bob.token");
        await File.WriteAllTextAsync(tokenFile, gw.Token("bob", "release"));
        string admin = $"http://127.0.0.1:{gw.Gateway.AdminEndpoint.Port}";

        var stdout = new StringWriter();
        var stderr = new StringWriter();
        Assert.True(await ApprovalsCommand.RunAsync(["list", "--admin", admin, "--token-file", tokenFile], stdout, stderr) == 0, stderr.ToString());
        string list = stdout.ToString();
        HostileText.AssertPrintable(list);
        // Not ASCII (its C1 controls, separators, override): flagged after the name, the flag's positions in the raw name.
        Assert.Contains("tools/call " + HostileText.Escaped + " [not ASCII: U+0085 at ", list, StringComparison.Ordinal);
        Assert.Contains("]  rule held", list, StringComparison.Ordinal);
        string id = list.Split(' ')[0];

        Assert.True(await ApprovalsCommand.RunAsync(["approve", id, "--comment", HostileText.Raw, "--admin", admin, "--token-file", tokenFile],
            TextWriter.Null, stderr) == 0, stderr.ToString());
        stdout = new StringWriter();
        Assert.True(await ApprovalsCommand.RunAsync(["show", id, "--admin", admin, "--token-file", tokenFile], stdout, stderr) == 0, stderr.ToString());
        string shown = stdout.ToString();
        HostileText.AssertPrintable(shown);
        // The call's line names the upstream it goes to (approvals.md).
        Assert.Contains("call       tools/call " + HostileText.Escaped + " on upstream ", shown, StringComparison.Ordinal);
        Assert.Contains(@"a\x9b2Kb", shown, StringComparison.Ordinal);
        // The comment: the gateway keeps it to one line (line breaks and tabs as spaces), the rest is escaped here.
        Assert.Contains(@"verified ok \x1b[2K\x1b]8;;http://e/\x07l", shown, StringComparison.Ordinal);

        // --json is the API's JSON: the same text, JSON-escaped, on one line.
        stdout = new StringWriter();
        Assert.True(await ApprovalsCommand.RunAsync(["show", id, "--json", "--admin", admin, "--token-file", tokenFile], stdout, stderr) == 0, stderr.ToString());
        HostileText.AssertPrintable(stdout.ToString());
        using (var view = System.Text.Json.JsonDocument.Parse(stdout.ToString()))
            Assert.Equal(HostileText.Raw, view.RootElement.GetProperty("target").GetString());

        // The audit log holds the same name; replay's text output escapes it, with the payloads.
        await gw.StopAndReadAuditAsync();
        stdout = new StringWriter();
        Assert.Equal(0, await ReplayCommand.RunAsync([gw.AuditDirectory, "--payloads"], stdout, new StringWriter()));
        string replayed = stdout.ToString();
        HostileText.AssertPrintable(replayed);
        Assert.Contains(" target=" + HostileText.Escaped + " ", replayed, StringComparison.Ordinal);
        Assert.Contains(@"""note"":""a\x9b2Kb""", replayed, StringComparison.Ordinal);
        stdout = new StringWriter();
        Assert.Equal(0, await ReplayCommand.RunAsync([gw.AuditDirectory, "--format", "jsonl"], stdout, new StringWriter()));
        HostileText.AssertPrintable(stdout.ToString());
    }

    [Fact]
    public async Task Tools_pin_prints_a_hostile_tool_name_and_error_answer_escaped()
    {
        string observed = "{\"upstreams\":{\"default\":{\"tools\":{" + HostileText.Json
            + ":{\"digest\":\"sha256:" + new string('a', 64) + "\",\"definitionOmitted\":true}}}}}";
        await using var admin = new ScriptedUpstream(x => x.Request.Target == "/tools/observed"
            ? x.RespondJsonAsync(observed)
            : x.RespondAsync(500, "text/plain", HostileText.Raw));
        string url = $"http://127.0.0.1:{admin.Port}";
        var stderr = new StringWriter();
        Assert.Equal(0, await ToolsCommand.RunAsync(["pin", "--admin", url, "--out", Path.Combine(_dir, "pins.json")], TextWriter.Null, stderr));
        HostileText.AssertPrintable(stderr.ToString());
        Assert.Contains("tool '" + HostileText.Escaped + "': its definition was not kept", stderr.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Config_check_quotes_a_hostile_value_escaped()
    {
        string path = Path.Combine(_dir, "fastmcp.json");
        File.WriteAllText(path, "{\"listen\":[\"127.0.0.1:0\"],\"upstream\":{\"url\":\"http://127.0.0.1:1/mcp\"},\"log\":{\"format\":" + HostileText.Json + "}}");
        var stderr = new StringWriter();
        Assert.Equal(2, ConfigCheckCommand.Run(["check", "--config", path], TextWriter.Null, stderr));
        HostileText.AssertPrintable(stderr.ToString());
        Assert.Contains("'" + HostileText.Escaped + "' is not text or json", stderr.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Policy_test_prints_a_hostile_subject_and_rule_message_escaped()
    {
        string config = Path.Combine(_dir, "policy.json");
        File.WriteAllText(config, "{\"listen\":[\"127.0.0.1:0\"],\"upstream\":{\"url\":\"http://127.0.0.1:1/mcp\"},"
            + "\"policy\":{\"defaultAction\":\"deny\",\"rules\":[{\"name\":\"no\",\"action\":\"deny\",\"methods\":[\"tools/call\"],\"message\":\"refused\"}]}}");
        string claims = Path.Combine(_dir, "claims.json");
        File.WriteAllText(claims, "{\"sub\":" + HostileText.Json + ",\"groups\":[" + HostileText.Json + "]}");
        string request = Path.Combine(_dir, "request.json");
        File.WriteAllText(request, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":" + HostileText.Json + ",\"arguments\":{}}}");
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        Assert.True(PolicyTestCli.Run(["test", "--config", config, "--claims", claims, "--request", request], stdout, stderr) == 0, stderr.ToString());
        HostileText.AssertPrintable(stdout.ToString());
        Assert.Contains("principal: " + HostileText.Escaped + " groups=[" + HostileText.Escaped + "]", stdout.ToString(), StringComparison.Ordinal);
    }
}
