using System.Text;
using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Hosting;

namespace FastMcp.Gateway.Tests;

/// <summary>tracing.* read through the source-generated context, refused with the field named, and restart-only on reload.</summary>
public sealed class TracingConfigurationTests
{
    private static GatewayOptions Load(string json)
    {
        GatewayOptions options = ConfigurationLoader.Parse(Encoding.UTF8.GetBytes(json));
        ConfigurationLoader.Validate(options);
        return options;
    }

    [Fact]
    public void Tracing_is_off_by_default_and_reads_every_field()
    {
        Assert.False(Load("{}").Tracing.Enabled);
        Assert.Equal(0.01, Load("{}").Tracing.SampleRatio);
        TracingOptions t = Load("""
            {"tracing":{"otlpEndpoint":"http://otel-collector:4318/v1/traces","serviceName":"gw-eu","sampleRatio":0.25,
              "maxQueueSize":100,"maxExportBatchSize":10,"scheduleDelayMs":200,"exportTimeoutMs":3000}}
            """).Tracing;
        Assert.True(t.Enabled);
        Assert.Equal("http://otel-collector:4318/v1/traces", t.OtlpEndpoint);
        Assert.Equal("gw-eu", t.ServiceName);
        Assert.Equal(0.25, t.SampleRatio);
        Assert.Equal((100, 10, 200, 3000), (t.MaxQueueSize, t.MaxExportBatchSize, t.ScheduleDelayMs, t.ExportTimeoutMs));
    }

    [Theory]
    [InlineData("""{"tracing":{"otlpEndpoint":"otel-collector:4318"}}""", "tracing.otlpEndpoint")]
    [InlineData("""{"tracing":{"otlpEndpoint":"ftp://collector/v1/traces"}}""", "tracing.otlpEndpoint")]
    [InlineData("""{"tracing":{"otlpEndpoint":"http://user:pw@collector:4318/v1/traces"}}""", "tracing.otlpEndpoint")]
    [InlineData("""{"tracing":{"sampleRatio":1.5}}""", "tracing.sampleRatio")]
    [InlineData("""{"tracing":{"sampleRatio":-0.1}}""", "tracing.sampleRatio")]
    [InlineData("""{"tracing":{"serviceName":""}}""", "tracing.serviceName")]
    [InlineData("""{"tracing":{"maxQueueSize":0}}""", "tracing.maxQueueSize")]
    [InlineData("""{"tracing":{"maxQueueSize":10,"maxExportBatchSize":11}}""", "tracing.maxExportBatchSize")]
    [InlineData("""{"tracing":{"scheduleDelayMs":0}}""", "tracing.scheduleDelayMs")]
    [InlineData("""{"tracing":{"exportTimeoutMs":0}}""", "tracing.exportTimeoutMs")]
    public void A_bad_tracing_field_is_named(string json, string field)
    {
        ConfigurationException e = Assert.Throws<ConfigurationException>(() => Load(json));
        Assert.Equal(field, e.Field);
    }

    [Fact]
    public void An_unknown_tracing_field_is_named()
    {
        ConfigurationException e = Assert.Throws<ConfigurationException>(() => Load("""{"tracing":{"endpoint":"http://c:4318/v1/traces"}}"""));
        Assert.Contains("tracing", e.Field, StringComparison.Ordinal);
        Assert.Contains("endpoint", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"tracing":{"sampleRatio":0.5}}""", "tracing.sampleRatio")]
    [InlineData("""{"tracing":{"otlpEndpoint":"http://c:4318/v1/traces"}}""", "tracing.otlpEndpoint")]
    public void A_changed_tracing_field_needs_a_restart(string json, string field)
    {
        List<string> changed = ConfigurationDiff.ChangedFields(Load("{}"), Load(json));
        Assert.Equal([field], changed);
        Assert.False(ConfigurationDiff.IsLive(field));
    }
}
