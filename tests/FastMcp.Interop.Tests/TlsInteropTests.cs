using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.RegularExpressions;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Interop.Tests.Harness;
using Xunit.Abstractions;

namespace FastMcp.Interop.Tests;

/// <summary>
/// TLS both ways with real peers: the official TypeScript SDK client speaks https to the gateway (trusting the test
/// CA through NODE_EXTRA_CA_CERTS), and the gateway speaks https to server-everything behind node's own https
/// server (tests/node/interop/https-front.mjs), checking its certificate against upstream.tls.caFile.
/// </summary>
[Collection(InteropCollection.Name)]
public sealed partial class TlsInteropTests(InteropFixture fixture, ITestOutputHelper output) : IDisposable
{
    private readonly TestPki _pki = CreatePki();

    private static TestPki CreatePki()
    {
        var pki = new TestPki();
        pki.Ca("ca");
        pki.Server("ca", "gateway");
        pki.Ca("upstream-ca");
        pki.Server("upstream-ca", "front");
        pki.Ca("wrong-ca");
        pki.Client("upstream-ca", "gateway-client", "gateway-client");
        return pki;
    }

    public void Dispose() => _pki.Dispose();

    [GeneratedRegex(@"^listening (\d+)\s*$")]
    private static partial Regex FrontListening();

    private string Config(int frontPort, string upstreamCa, string host = "localhost", string serverName = "", string clientCertificate = "") => $$"""
        {
          "listen": ["127.0.0.1:0"],
          "admin": { "listen": "127.0.0.1:0" },
          "publicScheme": "https",
          "tls": { "certificateFile": "{{_pki.PathOf("gateway.pem")}}", "keyFile": "{{_pki.PathOf("gateway.key")}}" },
          "upstream": { "url": "https://{{host}}:{{frontPort}}/mcp", "connectTimeoutMs": 5000,
                        "tls": { "caFile": "{{_pki.PathOf(upstreamCa)}}", "serverName": "{{serverName}}"{{ClientCertificate(clientCertificate)}} } },
          "identity": { "mode": "anonymous" },
          "audit": { "directory": "audit" },
          "policy": { "rules": [ { "name": "allow-all", "action": "allow" } ] }
        }
        """;

    private string ClientCertificate(string name) => name.Length == 0 ? ""
        : $", \"certificateFile\": \"{_pki.PathOf(name + ".pem")}\", \"keyFile\": \"{_pki.PathOf(name + ".key")}\"";

    private async Task<(ChildProcess Front, int Port)> StartFrontAsync(string clientCa = "")
    {
        RepoPaths.RequireNodePeers();
        List<string> arguments = [Path.Combine(RepoPaths.NodeDirectory, "interop", "https-front.mjs"), "--cert", _pki.PathOf("front.pem"), "--key", _pki.PathOf("front.key"),
            "--target", fixture.Upstream.McpUrl.GetLeftPart(UriPartial.Authority)];
        if (clientCa.Length > 0) arguments.AddRange(["--client-ca", _pki.PathOf(clientCa)]);
        var front = ChildProcess.Start(RepoPaths.NodeExecutable, arguments, workingDirectory: RepoPaths.NodeDirectory);
        try
        {
            Match listening = await front.WaitForStdoutLineAsync(FrontListening(), TimeSpan.FromSeconds(30));
            return (front, int.Parse(listening.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
        }
        catch
        {
            front.Dispose();
            throw;
        }
    }

    [Fact]
    [Trait("Category", "E2E")]
    public async Task Ts_sdk_client_over_https_through_the_gateway_to_an_https_upstream()
    {
        (ChildProcess front, int port) = await StartFrontAsync();
        using (front)
        using (GatewayProcess gateway = await GatewayProcess.StartWithConfigAsync(Config(port, "upstream-ca.pem")))
        {
            output.WriteLine($"gateway: {GatewayProcess.Locate().Description} at {gateway.McpUrl}");
            Assert.Equal("https", gateway.McpUrl.Scheme);

            TsClientRun run = await TsClientRunner.RunAsync(gateway.McpUrl,
                new Dictionary<string, string> { ["NODE_EXTRA_CA_CERTS"] = _pki.PathOf("ca.pem") },
                "initialize", "tools-list", "echo", "progress");

            Assert.True(run.ExitCode == 0, $"{run.Transcript}\n{gateway.Transcript}\n{front.Transcript}");
            Assert.Equal("mcp-servers/everything", (string?)run.Scenario("initialize")["serverName"]);
            Assert.Equal("Echo: interop echo: héllo, wörld", (string?)run.Scenario("echo")["content"]![0]!["text"]);
            Assert.True((int?)run.Scenario("progress")["progressCount"] > 0);
            // The gateway named the upstream by its URL's host in SNI.
            Assert.Contains("sni localhost", front.StandardOutput, StringComparison.Ordinal);
        }
    }

    [Fact]
    [Trait("Category", "E2E")]
    public async Task An_upstream_certificate_from_another_ca_is_refused_with_502_and_a_clear_log()
    {
        (ChildProcess front, int port) = await StartFrontAsync();
        using (front)
        using (GatewayProcess gateway = await GatewayProcess.StartWithConfigAsync(Config(port, "wrong-ca.pem")))
        {
            using HttpClient http = HttpsClientTrusting(_pki.PathOf("ca.pem"));
            using var request = new HttpRequestMessage(HttpMethod.Post, gateway.McpUrl)
            {
                Content = new StringContent(
                    """{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}""",
                    Encoding.UTF8, "application/json"),
            };
            request.Headers.Accept.ParseAdd("application/json, text/event-stream");
            using HttpResponseMessage response = await http.SendAsync(request);
            string body = await response.Content.ReadAsStringAsync();

            Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
            Assert.Contains("\"error\"", body, StringComparison.Ordinal);
            string log = await WaitForAsync(() => gateway.Transcript, t => t.Contains("certificate not trusted", StringComparison.Ordinal));
            Assert.Contains($"upstream https://localhost:{port}/mcp: TLS with \"localhost\" failed: certificate refused: certificate not trusted", log, StringComparison.Ordinal);
        }
    }

    [Fact]
    [Trait("Category", "E2E")]
    public async Task Server_name_overrides_the_sni_of_an_upstream_addressed_by_ip()
    {
        (ChildProcess front, int port) = await StartFrontAsync();
        using (front)
        using (GatewayProcess gateway = await GatewayProcess.StartWithConfigAsync(Config(port, "upstream-ca.pem", host: "127.0.0.1", serverName: "localhost")))
        {
            TsClientRun run = await TsClientRunner.RunAsync(gateway.McpUrl,
                new Dictionary<string, string> { ["NODE_EXTRA_CA_CERTS"] = _pki.PathOf("ca.pem") }, "initialize");
            Assert.True(run.ExitCode == 0, $"{run.Transcript}\n{gateway.Transcript}\n{front.Transcript}");
            Assert.Contains("sni localhost", front.StandardOutput, StringComparison.Ordinal);
        }
    }

    [Fact]
    [Trait("Category", "E2E")]
    public async Task The_gateway_presents_its_client_certificate_to_an_upstream_that_requires_one()
    {
        (ChildProcess front, int port) = await StartFrontAsync(clientCa: "upstream-ca.pem");
        using (front)
        {
            var environment = new Dictionary<string, string> { ["NODE_EXTRA_CA_CERTS"] = _pki.PathOf("ca.pem") };
            using (GatewayProcess gateway = await GatewayProcess.StartWithConfigAsync(Config(port, "upstream-ca.pem", clientCertificate: "gateway-client")))
            {
                TsClientRun run = await TsClientRunner.RunAsync(gateway.McpUrl, environment, "initialize", "echo");
                Assert.True(run.ExitCode == 0, $"{run.Transcript}\n{gateway.Transcript}\n{front.Transcript}");
                Assert.Contains("client gateway-client", front.StandardOutput, StringComparison.Ordinal);
            }
            // Without its certificate the upstream refuses the gateway: the client gets an error, not a silent pass.
            using (GatewayProcess bare = await GatewayProcess.StartWithConfigAsync(Config(port, "upstream-ca.pem")))
            {
                using HttpClient http = HttpsClientTrusting(_pki.PathOf("ca.pem"));
                using HttpResponseMessage response = await http.PostAsync(bare.McpUrl, new StringContent(
                    """{"jsonrpc":"2.0","id":1,"method":"ping"}""", Encoding.UTF8, "application/json"));
                Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
            }
        }
    }

    private static HttpClient HttpsClientTrusting(string caFile)
    {
        X509Certificate2Collection ca = [];
        ca.ImportFromPemFile(caFile);
        var policy = new X509ChainPolicy { TrustMode = X509ChainTrustMode.CustomRootTrust, RevocationMode = X509RevocationMode.NoCheck };
        policy.CustomTrustStore.AddRange(ca);
        var handler = new SocketsHttpHandler { SslOptions = new SslClientAuthenticationOptions { CertificateChainPolicy = policy } };
        return new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(30) };
    }

    private static async Task<string> WaitForAsync(Func<string> read, Func<string, bool> done)
    {
        for (int i = 0; i < 100; i++)
        {
            string text = read();
            if (done(text)) return text;
            await Task.Delay(100);
        }
        return read();
    }
}
