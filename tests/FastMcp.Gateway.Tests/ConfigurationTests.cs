using System.Text;
using FastMcp.Gateway.Configuration;

namespace FastMcp.Gateway.Tests;

/// <summary>Configuration errors name the field at fault, so an operator can fix the file from the message alone.</summary>
public sealed class ConfigurationTests
{
    private static ConfigurationException ParseAndValidateFails(string json) =>
        Assert.Throws<ConfigurationException>(() => ConfigurationLoader.Validate(ConfigurationLoader.Parse(Encoding.UTF8.GetBytes(json))));

    [Fact]
    public void Defaults_are_valid()
    {
        GatewayOptions options = ConfigurationLoader.Parse("{}"u8);
        ConfigurationLoader.Validate(options);
        Assert.Equal("/mcp", options.EndpointPath);
    }

    [Fact]
    public void Unknown_property_is_named()
    {
        ConfigurationException e = ParseAndValidateFails("""{"listen":["127.0.0.1:0"],"upstream":{"url":"http://127.0.0.1:1/mcp","retries":3}}""");
        Assert.Contains("retries", e.Message, StringComparison.Ordinal);
        Assert.Contains("upstream", e.Field, StringComparison.Ordinal);
    }

    [Fact]
    public void Bad_listen_address_is_named()
    {
        ConfigurationException e = ParseAndValidateFails("""{"listen":["127.0.0.1:0","no-port-here"]}""");
        Assert.Equal("listen[1]", e.Field);
        Assert.Contains("no-port-here", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("https://mcp.example.com/mcp")]
    [InlineData("not a url")]
    [InlineData("http://127.0.0.1:3001/mcp?x=1")]
    public void Bad_upstream_url_is_named(string url)
    {
        ConfigurationException e = ParseAndValidateFails("{\"upstream\":{\"url\":\"" + url + "\"}}");
        Assert.Equal("upstream.url", e.Field);
    }

    [Theory]
    [InlineData("""{"timeouts":{"requestHeadersMs":-1}}""", "timeouts.requestHeadersMs")]
    [InlineData("""{"timeouts":{"shutdownMs":0}}""", "timeouts.shutdownMs")]
    [InlineData("""{"upstream":{"responseTimeoutMs":-500}}""", "upstream.responseTimeoutMs")]
    [InlineData("""{"upstream":{"connectTimeoutMs":-1}}""", "upstream.connectTimeoutMs")]
    public void Negative_or_zero_timeout_is_named(string json, string field)
    {
        Assert.Equal(field, ParseAndValidateFails(json).Field);
    }

    [Fact]
    public void Value_of_the_wrong_type_is_named_by_its_path()
    {
        ConfigurationException e = ParseAndValidateFails("""{"upstream":{"connectTimeoutMs":"fast"}}""");
        Assert.Equal("$.upstream.connectTimeoutMs", e.Field);
    }
}
