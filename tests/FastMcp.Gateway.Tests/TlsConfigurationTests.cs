using System.Text;
using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Tests.Support;

namespace FastMcp.Gateway.Tests;

/// <summary>
/// Start-time checks of the tls and upstream.tls sections: each problem names its field, and no message carries
/// key material.
/// </summary>
public sealed class TlsConfigurationTests : IDisposable
{
    private readonly TestPki _pki = new();

    public TlsConfigurationTests()
    {
        _pki.Ca("ca");
        _pki.Server("ca", "server");
        _pki.Server("ca", "other");
    }

    public void Dispose() => _pki.Dispose();

    private string P(string file) => _pki.PathOf(file).Replace("\\", "\\\\", StringComparison.Ordinal);

    private static ConfigurationException Fails(string json) =>
        Assert.Throws<ConfigurationException>(() => ConfigurationLoader.Validate(ConfigurationLoader.Parse(Encoding.UTF8.GetBytes(json))));

    private static GatewayOptions Loads(string json)
    {
        GatewayOptions options = ConfigurationLoader.Parse(Encoding.UTF8.GetBytes(json));
        ConfigurationLoader.Validate(options);
        return options;
    }

    [Fact]
    public void A_complete_tls_section_loads()
    {
        GatewayOptions o = Loads($$$"""
            {"tls":{"certificateFile":"{{{P("server.pem")}}}","keyFile":"{{{P("server.key")}}}","clientCertificates":"require","clientCaFile":"{{{P("ca.pem")}}}","minVersion":"1.3"},
             "upstream":{"url":"https://mcp.internal:8443/mcp","tls":{"caFile":"{{{P("ca.pem")}}}","certificateFile":"{{{P("other.pem")}}}","keyFile":"{{{P("other.key")}}}","serverName":"mcp.internal"} } }
            """);
        Assert.Equal("require", o.Tls!.ClientCertificates);
        Assert.Equal("mcp.internal", o.Upstream.Tls.ServerName);
        UpstreamUrl url = UpstreamUrl.Parse(o.Upstream.Url, "upstream.url");
        Assert.True(url.IsHttps);
        Assert.Equal("mcp.internal:8443", Encoding.ASCII.GetString(url.HostHeaderValue));
        Assert.Equal("mcp.internal", Encoding.ASCII.GetString(UpstreamUrl.Parse("https://mcp.internal/mcp", "u").HostHeaderValue));
    }

    [Fact]
    public void A_missing_certificate_file_is_named()
    {
        ConfigurationException e = Fails($$$"""{"tls":{"certificateFile":"{{{P("nope.pem")}}}","keyFile":"{{{P("server.key")}}}"}}""");
        Assert.Equal("tls.certificateFile", e.Field);
        Assert.Contains("no such file", e.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void A_key_for_another_certificate_is_named_without_its_content()
    {
        ConfigurationException e = Fails($$$"""{"tls":{"certificateFile":"{{{P("server.pem")}}}","keyFile":"{{{P("other.key")}}}"}}""");
        Assert.Equal("tls.keyFile", e.Field);
        Assert.Contains("does not match the certificate", e.Problem, StringComparison.Ordinal);
        string key = File.ReadAllText(_pki.PathOf("other.key"));
        string body = key.Split('\n')[1];
        Assert.DoesNotContain(body, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unreadable_key_is_named()
    {
        File.WriteAllText(_pki.PathOf("garbage.key"), "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n");
        ConfigurationException e = Fails($$$"""{"tls":{"certificateFile":"{{{P("server.pem")}}}","keyFile":"{{{P("garbage.key")}}}"}}""");
        Assert.Equal("tls.keyFile", e.Field);
        Assert.Contains("no readable private key", e.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void A_certificate_file_without_a_certificate_is_named()
    {
        ConfigurationException e = Fails($$$"""{"tls":{"certificateFile":"{{{P("server.key")}}}","keyFile":"{{{P("server.key")}}}"}}""");
        Assert.Equal("tls.certificateFile", e.Field);
        Assert.Contains("no PEM certificate", e.Problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"clientCertificates":"require"}""", "tls.clientCaFile")]
    [InlineData("""{"clientCertificates":"sometimes"}""", "tls.clientCertificates")]
    [InlineData("""{"minVersion":"1.1"}""", "tls.minVersion")]
    [InlineData("""{"minVersion":"1.0"}""", "tls.minVersion")]
    public void Bad_listener_settings_are_named(string extra, string field)
    {
        string tls = $$$"""{"certificateFile":"{{{P("server.pem")}}}","keyFile":"{{{P("server.key")}}}",""" + extra[1..];
        Assert.Equal(field, Fails("{\"tls\":" + tls + "}").Field);
    }

    [Fact]
    public void Tls_with_the_proxy_protocol_is_refused()
    {
        ConfigurationException e = Fails($$$"""{"tls":{"certificateFile":"{{{P("server.pem")}}}","keyFile":"{{{P("server.key")}}}"},"clientAddress":{"proxyProtocol":true}}""");
        Assert.Equal("tls", e.Field);
    }

    [Theory]
    [InlineData("""{"url":"https://127.0.0.1:1/mcp","tls":{"caFile":"/nonexistent/ca.pem"}}""", "upstream.tls.caFile")]
    [InlineData("""{"url":"http://127.0.0.1:1/mcp","tls":{"serverName":"x.example"}}""", "upstream.tls")]
    [InlineData("""{"url":"https://127.0.0.1:1/mcp","tls":{"minVersion":"1.1"}}""", "upstream.tls.minVersion")]
    [InlineData("""{"url":"https://127.0.0.1:1/mcp","tls":{"insecureSkipVerify":true}}""", "upstream.tls.insecureSkipVerify")]
    public void Bad_upstream_tls_settings_are_named(string upstream, string field)
    {
        ConfigurationException e = Fails("{\"upstream\":" + upstream + "}");
        Assert.Contains(field, e.Field + " " + e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_upstream_client_certificate_needs_its_key()
    {
        ConfigurationException e = Fails($$$"""{"upstream":{"url":"https://127.0.0.1:1/mcp","tls":{"certificateFile":"{{{P("server.pem")}}}"} } }""");
        Assert.Equal("upstream.tls.keyFile", e.Field);
    }
}
