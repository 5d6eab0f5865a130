using System.Text;
using FastMcp.Gateway.Configuration;

namespace FastMcp.Gateway.Tests;

/// <summary>limits.maxBufferedResponseBytes and limits.reservedAuthenticatedConnections bind from JSON and bad values name their field.</summary>
public sealed class ConnectionAndBufferLimitConfigTests
{
    private static GatewayOptions Load(string json)
    {
        GatewayOptions options = ConfigurationLoader.Parse(Encoding.UTF8.GetBytes(json));
        ConfigurationLoader.Validate(options);
        return options;
    }

    [Fact]
    public void Defaults_bound_buffered_responses_at_one_mebibyte_and_reserve_a_sixteenth_of_the_slots()
    {
        GatewayOptions options = Load("{}");
        Assert.Equal(1024 * 1024, options.Limits.MaxBufferedResponseBytes);
        Assert.Null(options.Limits.ReservedAuthenticatedConnections);
        Assert.Equal(256, options.Limits.EffectiveReservedAuthenticatedConnections());
        Assert.Equal(0, Load("""{"limits":{"maxConnections":8}}""").Limits.EffectiveReservedAuthenticatedConnections());
    }

    [Fact]
    public void Values_bind_from_the_file()
    {
        GatewayOptions options = Load("""{"limits":{"maxConnections":100,"reservedAuthenticatedConnections":30,"maxBufferedResponseBytes":131072}}""");
        Assert.Equal(30, options.Limits.EffectiveReservedAuthenticatedConnections());
        Assert.Equal(131072, options.Limits.MaxBufferedResponseBytes);
    }

    [Theory]
    [InlineData("""{"limits":{"maxConnections":10,"reservedAuthenticatedConnections":10}}""", "limits.reservedAuthenticatedConnections")]
    [InlineData("""{"limits":{"reservedAuthenticatedConnections":-1}}""", "limits.reservedAuthenticatedConnections")]
    [InlineData("""{"limits":{"maxBufferedResponseBytes":1024}}""", "limits.maxBufferedResponseBytes")]
    [InlineData("""{"limits":{"maxBufferedResponseBytes":2147483648}}""", "limits.maxBufferedResponseBytes")]
    public void Bad_values_are_named(string json, string field)
    {
        var e = Assert.Throws<ConfigurationException>(() => Load(json));
        Assert.Contains(field, e.Message);
    }
}
