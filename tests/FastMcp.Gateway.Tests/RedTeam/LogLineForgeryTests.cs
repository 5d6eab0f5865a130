using System.Text.Json;
using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Hosting;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Text;

namespace FastMcp.Gateway.Tests.RedTeam;

/// <summary>
/// A caller chooses text the gateway logs (here a request id, named in the line about a failed upstream exchange) and
/// fills it with a line break and a whole forged line, terminal escapes, C1 controls and the Unicode separators. In
/// text mode every one is written as an escape on the one line; in JSON mode each line stays one parseable object
/// whose message holds the text exactly.
/// </summary>
[Collection(LogOutputCollection.Name)]
public sealed class LogLineForgeryTests : IDisposable
{
    public void Dispose() => Log.Apply(new LogOptions());

    private static async Task<string> FailedExchangeLogAsync(CapturedLog lines)
    {
        await using var gateway = GatewayUnderTest.Start($"http://127.0.0.1:{UpstreamFailureLogTests.RefusingPort()}/mcp");
        using RawClient client = await gateway.ConnectAsync();
        await client.SendAsync(gateway.Post(GatewayUnderTest.ToolsList(HostileText.Json)));
        Assert.Equal(502, (await client.ReadResponseAsync()).Status);
        return lines.Text;
    }

    [Fact]
    public async Task In_text_mode_a_callers_line_break_and_escapes_stay_escaped_on_the_one_line()
    {
        Log.Apply(new LogOptions { Format = "text" });
        using var lines = new CapturedLog();
        string text = await FailedExchangeLogAsync(lines);
        HostileText.AssertPrintable(text);
        string line = Assert.Single(lines.LinesWith("method=tools/list id=fx"));
        Assert.Contains("id=" + HostileText.Escaped + " client=127.0.0.1", line, StringComparison.Ordinal);
        Assert.Matches(@"^\d{4}-\d\d-\d\dT[\d:.]+Z warn upstream ", line);
    }

    [Fact]
    public async Task In_json_mode_every_line_parses_and_the_message_holds_the_text_exactly()
    {
        Log.Apply(new LogOptions { Format = "json" });
        using var lines = new CapturedLog();
        string text = await FailedExchangeLogAsync(lines);
        HostileText.AssertPrintable(text);
        bool found = false;
        foreach (string line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            using JsonDocument doc = JsonDocument.Parse(line);
            found |= doc.RootElement.GetProperty("msg").GetString()!.Contains("id=" + HostileText.Raw + " client=", StringComparison.Ordinal);
        }
        Assert.True(found, text);
    }

    [Theory]
    [InlineData("text")]
    [InlineData("json")]
    public void A_lone_surrogate_is_written_as_an_escape_and_loses_the_line_in_neither_format(string format)
    {
        Log.Apply(new LogOptions { Format = format });
        using var lines = new CapturedLog();
        Log.Warn("lone-surrogate \ud800 and \udc00 then a pair \ud83d\ude00 end");
        string line = Assert.Single(lines.LinesWith("lone-surrogate"));
        if (format == "text")
            Assert.EndsWith(@"lone-surrogate \ud800 and \udc00 then a pair " + "\ud83d\ude00" + " end", line, StringComparison.Ordinal);
        else
            Assert.Equal("lone-surrogate \ufffd and \ufffd then a pair \ud83d\ude00 end", JsonDocument.Parse(line).RootElement.GetProperty("msg").GetString());
    }

    [Fact]
    public void Text_that_needs_no_escape_is_returned_as_it_is_without_allocating()
    {
        const string clean = "upstream http://mcp:3001/mcp failed: ResponseTimeout; request POST /mcp method=tools/call name=pay id=7 client=10.0.0.4 caf\u00e9 \ud83d\ude00";
        Assert.Same(clean, PrintableText.Escape(clean));
        string escaped = "";
        long allocated = ThreadAllocations.Measure(() => escaped = PrintableText.Escape(clean));
        Assert.Equal(0, allocated);
        Assert.Same(clean, escaped);
        Assert.Equal(HostileText.Escaped, PrintableText.Escape(HostileText.Raw));
        Assert.Equal(@"C:\\dir \\x41 \\\n", PrintableText.Escape("C:\\dir \\x41 \\\n"));
    }
}
