using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Tests.Support;

namespace FastMcp.Gateway.Tests;

/// <summary>
/// RFC 8705 certificate-bound access tokens on the gateway's own mutual-TLS listener: a token whose cnf.x5t#S256 names
/// a client certificate is admitted only on a connection that presented that certificate, on every connection (a
/// token verified and cached on one connection is not admitted on another with another certificate, or none).
/// </summary>
public sealed partial class TlsListenerTests
{
    [Fact]
    public async Task A_certificate_bound_token_is_admitted_only_with_its_own_client_certificate()
    {
        await using var gw = await PolicyGateway.StartAsync(UpstreamScripts.Echo, [new Policy.RuleOptions { Name = "all", Action = "allow" }], o =>
        {
            o.Tls = new ListenerTlsOptions
            {
                CertificateFile = _pki.PathOf("server.pem"), KeyFile = _pki.PathOf("server.key"),
                ClientCertificates = "optional", ClientCaFile = _pki.PathOf("ca.pem"),
            };
            o.PublicScheme = "https";
        });
        using var tokens = new BoundTokens(gw.DevKeyDirectory);
        byte[] aliceHash = SHA256.HashData(X509Certificate2.CreateFromPem(File.ReadAllText(_pki.PathOf("alice.pem"))).RawData);
        string token = tokens.CertificateBound("alice", aliceHash);
        string request = gw.Gateway.Post("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{}}}""", $"Authorization: Bearer {token}\r\nConnection: close\r\n");

        async Task<string> OverAsync(SslClientAuthenticationOptions options)
        {
            using TlsTestClient client = await TlsTestClient.ConnectAsync(gw.Gateway.Endpoint, options);
            return await client.ExchangeAsync(request);
        }

        // Bob (same CA, so the handshake succeeds) first: the token is verified, cached, and refused for his certificate,
        // as RFC 8705 §3 says: 401 invalid_token, in the Bearer scheme the token came with.
        string bob = await OverAsync(WithClientCertificate(TrustOptions(SslProtocols.Tls13), "bob"));
        Assert.StartsWith("HTTP/1.1 401", bob, StringComparison.Ordinal);
        Assert.Contains("presented with another certificate", bob, StringComparison.Ordinal);
        Assert.Single(bob.Split("\r\n"), line => line.StartsWith("WWW-Authenticate:", StringComparison.OrdinalIgnoreCase));
        Assert.Contains("\r\nWWW-Authenticate: Bearer error=\"invalid_token\", error_description=\"certificate-bound token presented with another certificate\", "
            + "resource_metadata=\"http://127.0.0.1/.well-known/oauth-protected-resource/mcp\"\r\n", bob, StringComparison.Ordinal);
        Assert.StartsWith("HTTP/1.1 200", await OverAsync(WithClientCertificate(TrustOptions(SslProtocols.Tls13), "alice")), StringComparison.Ordinal);
        // Cached now: still refused without a certificate, and with Bob's.
        string none = await OverAsync(TrustOptions(SslProtocols.Tls13));
        Assert.StartsWith("HTTP/1.1 401", none, StringComparison.Ordinal);
        Assert.Contains("presented without its certificate", none, StringComparison.Ordinal);
        Assert.StartsWith("HTTP/1.1 401", await OverAsync(WithClientCertificate(TrustOptions(SslProtocols.Tls12), "bob")), StringComparison.Ordinal);
        Assert.StartsWith("HTTP/1.1 200", await OverAsync(WithClientCertificate(TrustOptions(SslProtocols.Tls12), "alice")), StringComparison.Ordinal);
        Assert.Equal(2, gw.Upstream.Requests.Count);

        // The listener asks for client certificates: the metadata says certificate-bound tokens are honoured (RFC 9728 §2).
        using (TlsTestClient metadata = await TlsTestClient.ConnectAsync(gw.Gateway.Endpoint, TrustOptions(SslProtocols.Tls13)))
        {
            string document = await metadata.ExchangeAsync($"GET /.well-known/oauth-protected-resource/mcp HTTP/1.1\r\nHost: {gw.Gateway.Authority}\r\nConnection: close\r\n\r\n");
            Assert.StartsWith("HTTP/1.1 200", document, StringComparison.Ordinal);
            Assert.Contains("\"tls_client_certificate_bound_access_tokens\":true", document, StringComparison.Ordinal);
        }

        string metrics = await AdminGet.TextAsync(gw.Gateway.AdminEndpoint, "/metrics");
        Assert.Contains("fastmcp_auth_failures_total{reason=\"CertificateMismatch\"} 2\n", metrics);
        Assert.Contains("fastmcp_auth_failures_total{reason=\"CertificateMissing\"} 1\n", metrics);
    }
}
