using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using FastMcp.Audit;
using FastMcp.Gateway.Cli;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Policy;
using FastMcp.Text;

namespace FastMcp.Gateway.Tests.RedTeam;

/// <summary>
/// Characters that print as nothing or reorder what is shown (zero-width, bidi isolates, tag characters, blank Hangul
/// fillers) and names that only look like another (a Cyrillic е in <c>dеploy</c>), chosen by a caller or an upstream:
/// the approvals views, replay and `tools pin` show the first as escapes and flag the second.
/// </summary>
public sealed class InvisibleTextTests : IDisposable
{
    // d, Cyrillic е, "ploy", a zero-width space, a left-to-right isolate, tag characters spelling "A", a Hangul filler.
    private const string Hidden = "d\u0435ploy\u200b\u2066\U000E0041\u3164";
    private const string HiddenEscaped = "d\u0435ploy" + @"\u200b\u2066\U000e0041\u3164";

    private readonly string _dir = Path.Combine(Path.GetTempPath(), "fastmcp-invisible-" + Guid.NewGuid().ToString("N"));

    public InvisibleTextTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    private static void AssertNothingInvisible(string output)
    {
        foreach (Rune r in output.EnumerateRunes())
            if (Rune.GetUnicodeCategory(r) == UnicodeCategory.Format || r.Value is 0x3164)
                throw new Xunit.Sdk.XunitException($"U+{r.Value:X4} printed raw in:\n{output}");
    }

    [Fact]
    public void Escape_writes_every_format_character_zero_width_tag_and_filler_visibly_and_keeps_other_pairs()
    {
        Assert.Equal(HiddenEscaped, PrintableText.Escape(Hidden));
        Assert.Equal(@"a\u00adb\ufeffc\u200dd", PrintableText.Escape("a\u00adb\ufeffc\u200dd"));
        Assert.Same("caf\u00e9 \ud83d\ude00", PrintableText.Escape("caf\u00e9 \ud83d\ude00"));
        for (int c = 0; c <= 0xffff; c++)
        {
            if (c is >= 0xd800 and <= 0xdfff) continue;
            if (char.GetUnicodeCategory((char)c) == UnicodeCategory.Format)
                Assert.True(PrintableText.NeedsEscaping(((char)c).ToString()), $"U+{c:X4} (Cf) is not escaped");
        }
    }

    [Fact]
    public void A_json_line_writes_them_as_json_escapes_with_the_same_meaning()
    {
        // Raw inside the string (JSON allows it); System.Text.Json's encoders would have escaped it already.
        byte[] json = Encoding.UTF8.GetBytes("{\"n\":\"" + Hidden + "\"}");
        Assert.Contains("\u200b", Encoding.UTF8.GetString(json), StringComparison.Ordinal);
        var output = new ArrayBufferWriter<byte>();
        PrintableText.AppendJsonLine(output, json);
        string line = Encoding.UTF8.GetString(output.WrittenSpan);
        AssertNothingInvisible(line);
        Assert.Contains(@"\u200b\u2066\udb40\udc41\u3164", line, StringComparison.Ordinal);
        using JsonDocument doc = JsonDocument.Parse(line);
        Assert.Equal(Hidden, doc.RootElement.GetProperty("n").GetString());
    }

    [Fact]
    public async Task Approvals_list_show_and_replay_escape_them_and_flag_the_look_alike_name()
    {
        await using PolicyGateway gw = await PolicyGateway.StartAsync(
            x => x.RespondJsonAsync("{\"jsonrpc\":\"2.0\",\"id\":" + x.Request.IdJson() + ",\"result\":{}}"),
            [new RuleOptions { Name = "held", Action = "require_approval", Methods = ["tools/call"], Approvers = ["release"], ApprovalMode = "grant", GrantWindowSeconds = 600 }]);
        string call = "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{\"name\":" + JsonSerializer.Serialize(Hidden) + ",\"arguments\":{}}}";
        Assert.Contains("-32002", (await gw.PostAsync(call, gw.Token("alice", "dev"))).Body, StringComparison.Ordinal);
        string tokenFile = Path.Combine(_dir, "bob.token");
        await File.WriteAllTextAsync(tokenFile, gw.Token("bob", "release"));
        string admin = $"http://127.0.0.1:{gw.Gateway.AdminEndpoint.Port}";
        const string Flag = "not ASCII: U+0435 at 1, U+200B at 6, U+2066 at 7, U+E0041 at 8, U+3164 at 10; looks like 'deploy'";

        var stdout = new StringWriter();
        var stderr = new StringWriter();
        Assert.True(await ApprovalsCommand.RunAsync(["list", "--admin", admin, "--token-file", tokenFile], stdout, stderr) == 0, stderr.ToString());
        string list = stdout.ToString();
        AssertNothingInvisible(list);
        Assert.Contains("tools/call " + HiddenEscaped + " [" + Flag + "]  rule held", list, StringComparison.Ordinal);

        stdout = new StringWriter();
        Assert.True(await ApprovalsCommand.RunAsync(["show", list.Split(' ')[0], "--admin", admin, "--token-file", tokenFile], stdout, stderr) == 0, stderr.ToString());
        AssertNothingInvisible(stdout.ToString());
        Assert.Contains("\nwarning    the target is " + Flag + "\n", stdout.ToString().ReplaceLineEndings("\n"), StringComparison.Ordinal);

        await gw.StopAndReadAuditAsync();
        stdout = new StringWriter();
        Assert.Equal(0, await ReplayCommand.RunAsync([gw.AuditDirectory], stdout, new StringWriter()));
        AssertNothingInvisible(stdout.ToString());
        Assert.Contains(" target=" + HiddenEscaped, stdout.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tools_pin_leaves_look_alike_names_unpinned_and_flags_a_name_that_is_not_ascii()
    {
        static string Tool(string name) => JsonSerializer.Serialize(name) + ":{\"digest\":\"sha256:" + new string('a', 64) + "\",\"pin\":null,\"definition\":{}}";
        string observed = "{\"upstreams\":{\"default\":{\"mode\":\"record\",\"tools\":{" + Tool("deploy") + "," + Tool("d\u0435ploy") + "," + Tool("dep\u200bloy")
            + "," + Tool("caf\u00e9") + "," + Tool("status") + "}}}}";
        await using var admin = new ScriptedUpstream(x => x.RespondJsonAsync(observed));
        string pins = Path.Combine(_dir, "pins.json");
        var stderr = new StringWriter();
        Assert.Equal(0, await ToolsCommand.RunAsync(["pin", "--admin", $"http://127.0.0.1:{admin.Port}", "--out", pins], TextWriter.Null, stderr));
        string said = stderr.ToString();
        AssertNothingInvisible(said);
        Assert.Contains("upstream 'default': tools 'deploy', 'd\u0435ploy' (not ASCII: U+0435 at 1; looks like 'deploy'), 'dep" + @"\u200b" + "loy' (not ASCII: U+200B at 3; looks like 'deploy') look alike; none of them pinned", said, StringComparison.Ordinal);
        Assert.Contains("tool 'caf\u00e9': not ASCII: U+00E9 at 3; pinned", said, StringComparison.Ordinal);
        using JsonDocument file = JsonDocument.Parse(File.ReadAllBytes(pins));
        var pinned = new List<string>();
        foreach (JsonProperty p in file.RootElement.GetProperty("default").EnumerateObject()) pinned.Add(p.Name);
        Assert.Equal(["caf\u00e9", "status"], pinned);
    }
}
