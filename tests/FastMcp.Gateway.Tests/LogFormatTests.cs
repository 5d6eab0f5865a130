using System.Text.Json;
using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Hosting;

namespace FastMcp.Gateway.Tests;

/// <summary>log.format and log.level: JSON lines a shipper can parse, levels below the setting dropped, cards masked.</summary>
[Collection(LogOutputCollection.Name)]
public sealed class LogFormatTests : IDisposable
{
    private readonly StringWriter _log = new();
    private readonly TextWriter _previous = Log.Output;

    public LogFormatTests() => Log.Output = _log;

    public void Dispose()
    {
        Log.Output = _previous;
        Log.Apply(new LogOptions());
    }

    private string[] Lines() => _log.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);

    [Fact]
    public void Json_format_writes_one_parseable_object_per_line_with_cards_masked()
    {
        Log.Apply(new LogOptions { Format = "json", Level = "info" });
        Log.Info("tool \"pay\" card 4111111111111111 done");
        string line = Assert.Single(Lines(), l => l.Contains("pay", StringComparison.Ordinal));
        using JsonDocument doc = JsonDocument.Parse(line);
        Assert.Equal("info", doc.RootElement.GetProperty("level").GetString());
        Assert.EndsWith("Z", doc.RootElement.GetProperty("time").GetString(), StringComparison.Ordinal);
        string msg = doc.RootElement.GetProperty("msg").GetString()!;
        Assert.Contains("tool \"pay\"", msg, StringComparison.Ordinal);
        Assert.DoesNotContain("4111111111111111", msg, StringComparison.Ordinal);
    }

    [Fact]
    public void The_level_drops_less_severe_lines()
    {
        Log.Apply(new LogOptions { Level = "warn" });
        Log.Info("level-probe-info");
        Log.Debug("level-probe-debug");
        Log.Warn("level-probe-warn");
        string text = _log.ToString();
        Assert.DoesNotContain("level-probe-info", text, StringComparison.Ordinal);
        Assert.DoesNotContain("level-probe-debug", text, StringComparison.Ordinal);
        Assert.Contains(" warn level-probe-warn", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{ "log": { "format": "xml" } }""", "log.format")]
    [InlineData("""{ "log": { "level": "verbose" } }""", "log.level")]
    public void Unknown_formats_and_levels_are_refused(string json, string field)
    {
        var e = Assert.Throws<ConfigurationException>(() => ConfigurationLoader.Validate(ConfigurationLoader.Parse(System.Text.Encoding.UTF8.GetBytes(json))));
        Assert.Equal(field, e.Field);
    }
}
