using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Tests.Support;

namespace FastMcp.Gateway.Tests;

/// <summary>
/// TLS on the MCP listener, through the real gateway with certificates openssl made: curl and .NET TLS clients,
/// versions and ALPN, client certificates, certificate rotation, and handshakes that fail or never finish.
/// </summary>
public sealed partial class TlsListenerTests : IDisposable
{
    private readonly TestPki _pki = new();

    public TlsListenerTests()
    {
        _pki.Ca("ca");
        _pki.Server("ca", "server");
        _pki.Ca("other-ca");
        _pki.Client("ca", "alice", "alice");
        _pki.Client("other-ca", "mallory", "mallory");
        _pki.Client("ca", "bob", "bob");
    }

    public void Dispose() => _pki.Dispose();

    private GatewayUnderTest StartTls(ScriptedUpstream upstream, Action<ListenerTlsOptions>? configure = null, int firstRequestMs = 10_000,
        Action<GatewayOptions>? configureOptions = null)
    {
        var tls = new ListenerTlsOptions { CertificateFile = _pki.PathOf("server.pem"), KeyFile = _pki.PathOf("server.key") };
        configure?.Invoke(tls);
        return GatewayUnderTest.Start(upstream.Url, o =>
        {
            o.Tls = tls;
            o.PublicScheme = "https";
            o.Timeouts.FirstRequestMs = firstRequestMs;
            configureOptions?.Invoke(o);
        });
    }

    [Fact]
    public async Task Curl_posts_initialize_and_tools_call_over_https()
    {
        await using var upstream = new ScriptedUpstream(UpstreamScripts.Echo);
        await using GatewayUnderTest gw = StartTls(upstream);
        string url = $"https://127.0.0.1:{gw.Endpoint.Port}/mcp";

        foreach ((string method, string body) in new[]
        {
            ("initialize", """{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"curl","version":"1"}}}"""),
            ("tools/call", """{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"message":"over tls"}}}"""),
        })
        {
            (int exit, string output) = await CurlAsync("-sS", "--http1.1", "--cacert", _pki.PathOf("ca.pem"), "-X", "POST", url,
                "-H", "Content-Type: application/json", "-H", "Accept: application/json, text/event-stream", "-d", body,
                "-w", "\nstatus=%{http_code} tls_verify=%{ssl_verify_result}");
            Assert.True(exit == 0, output);
            Assert.Contains("status=200 tls_verify=0", output, StringComparison.Ordinal);
            Assert.Contains($"\"method\":\"POST\"", output, StringComparison.Ordinal);
            Assert.Contains(method, output, StringComparison.Ordinal);
        }
        // The upstream hears the scheme the client used.
        Assert.All(upstream.Requests, r => Assert.Equal("https", r.Header("X-Forwarded-Proto")));
    }

    [Fact]
    public async Task Curl_refuses_the_gateway_without_the_ca()
    {
        await using var upstream = new ScriptedUpstream(UpstreamScripts.Echo);
        await using GatewayUnderTest gw = StartTls(upstream);
        (int exit, string output) = await CurlAsync("-sS", "--cacert", _pki.PathOf("other-ca.pem"), "-X", "POST", $"https://127.0.0.1:{gw.Endpoint.Port}/mcp",
            "-H", "Content-Type: application/json", "-d", GatewayUnderTest.ToolsList("1"));
        Assert.NotEqual(0, exit);
        Assert.Empty(upstream.Requests);
        Assert.Contains("certificate", output, StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData(SslProtocols.Tls12)]
    [InlineData(SslProtocols.Tls13)]
    public async Task Tls12_and_tls13_clients_negotiate_their_version_and_http11(SslProtocols version)
    {
        await using var upstream = new ScriptedUpstream(UpstreamScripts.Echo);
        await using GatewayUnderTest gw = StartTls(upstream);
        using TlsTestClient client = await TlsTestClient.ConnectAsync(gw.Endpoint, TrustOptions(version));
        Assert.Equal(version, client.Stream.SslProtocol);
        Assert.Equal(SslApplicationProtocol.Http11, client.Stream.NegotiatedApplicationProtocol);
        string response = await client.ExchangeAsync(gw.Post(GatewayUnderTest.ToolsList("7"), "Connection: close\r\n"));
        Assert.StartsWith("HTTP/1.1 200", response, StringComparison.Ordinal);
        Assert.Contains("tools/list", response, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bodies_larger_than_the_socket_buffers_cross_tls_whole_both_ways()
    {
        // 1.5 MB each way: many TLS records per message, and sends the socket cannot take at once (they wait for
        // a writable edge on the gateway's epoll loop) on the client side.
        await using var upstream = new ScriptedUpstream(UpstreamScripts.Echo);
        await using GatewayUnderTest gw = StartTls(upstream);
        var random = new Random(14);
        var text = new StringBuilder(1_500_000);
        for (int i = 0; i < 1_500_000; i++) text.Append((char)('a' + random.Next(26)));
        string message = text.ToString();
        string call = "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{\"name\":\"echo\",\"arguments\":{\"message\":\"" + message + "\"}}}";

        using TlsTestClient client = await TlsTestClient.ConnectAsync(gw.Endpoint, TrustOptions(SslProtocols.Tls13));
        string response = await client.ExchangeAsync(gw.Post(call, "Connection: close\r\n"));

        Assert.StartsWith("HTTP/1.1 200", response, StringComparison.Ordinal);
        var received = Assert.Single(upstream.Requests);
        Assert.Equal(call, received.Body);
        int at = response.IndexOf(message, StringComparison.Ordinal);
        Assert.True(at > 0, $"the echoed message is not in the {response.Length}-character response whole");
    }

    [Fact]
    public async Task A_tls_client_that_stops_reading_is_held_to_the_response_bound_and_loses_the_exchange()
    {
        // The plaintext waiting to be encrypted stays within limits.maxBufferedResponseBytes (the ciphertext under it
        // within PipeSettings.TlsCiphertextSend), and the write timeout ends the exchange as on a plain connection.
        const long bound = 256 * 1024;
        string big = new('x', 12 * 1024 * 1024);
        await using var upstream = new ScriptedUpstream(x => x.RespondJsonAsync("{\"jsonrpc\":\"2.0\",\"id\":" + x.Request.IdJson() + ",\"result\":{\"tools\":[],\"pad\":\"" + big + "\"}}"));
        await using GatewayUnderTest gw = StartTls(upstream, configureOptions: o =>
        {
            o.Limits.MaxBufferedResponseBytes = bound;
            o.Timeouts.ClientWriteMs = 500;
        });

        using var tcp = new TcpClient(AddressFamily.InterNetwork) { ReceiveBufferSize = 16 * 1024 };
        await tcp.ConnectAsync(gw.Endpoint);
        using var ssl = new SslStream(tcp.GetStream());
        using (var handshake = new CancellationTokenSource(TimeSpan.FromSeconds(15)))
            await ssl.AuthenticateAsClientAsync(TrustOptions(SslProtocols.Tls13), handshake.Token);
        await ssl.WriteAsync(Encoding.UTF8.GetBytes(gw.Post(GatewayUnderTest.ToolsList("1"))));

        // The client never reads: within a bounded time the write timeout ends the exchange.
        FastMcp.Gateway.Admin.GatewayCounters counters = gw.Host.Runtime.Counters;
        for (int i = 0; i < 300 && Volatile.Read(ref counters.ClientWriteTimeouts) == 0; i++) await Task.Delay(50);
        Assert.Equal(1, Volatile.Read(ref counters.ClientWriteTimeouts));
        Assert.InRange(Volatile.Read(ref counters.PeakBufferedResponseBytes), 1, bound);

        // And the connection is closed: reading now drains what the kernel held, then ends.
        Assert.True(await ClosedWithinAsync(tcp.Client, TimeSpan.FromSeconds(30)), "the stalled TLS client's connection stays open");
    }

    [Fact]
    public async Task A_tls12_openssl_client_negotiates_tls12_and_tls11_is_refused()
    {
        await using var upstream = new ScriptedUpstream(UpstreamScripts.Echo);
        await using GatewayUnderTest gw = StartTls(upstream);
        string connect = $"127.0.0.1:{gw.Endpoint.Port}";

        (int exit12, string out12) = TestPki.Try("", "s_client", "-connect", connect, "-tls1_2", "-CAfile", _pki.PathOf("ca.pem"), "-alpn", "http/1.1");
        Assert.True(exit12 == 0, out12);
        Assert.Contains("Protocol  : TLSv1.2", out12, StringComparison.Ordinal);
        Assert.Contains("ALPN protocol: http/1.1", out12, StringComparison.Ordinal);
        Assert.Contains("Verify return code: 0 (ok)", out12, StringComparison.Ordinal);

        // SECLEVEL=0 lets the local client offer TLS 1.1; the gateway must say no.
        (int exit11, string out11) = TestPki.Try("", "s_client", "-connect", connect, "-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0");
        Assert.True(exit11 != 0, out11);
        // (s_client prints its session even after a failed handshake, with no cipher.)
        Assert.Contains("Cipher is (NONE)", out11, StringComparison.Ordinal);
        Assert.Contains("alert protocol version", out11, StringComparison.Ordinal);
        await WaitForMetricAsync(gw, "fastmcp_tls_handshake_failures_total{reason=\"protocol\"}", atLeast: 1);
    }

    [Fact]
    public async Task Plain_http_on_the_tls_port_is_closed_and_counted()
    {
        await using var upstream = new ScriptedUpstream(UpstreamScripts.Echo);
        await using GatewayUnderTest gw = StartTls(upstream);
        using Socket raw = await ConnectRawAsync(gw);
        await raw.SendAsync(Encoding.UTF8.GetBytes(gw.Post(GatewayUnderTest.ToolsList("1"))), SocketFlags.None);
        Assert.True(await ClosedWithinAsync(raw, TimeSpan.FromSeconds(10)), "the gateway kept a plain-HTTP connection open on its TLS port");
        Assert.Empty(upstream.Requests);
        await WaitForMetricAsync(gw, "fastmcp_tls_handshake_failures_total{reason=\"protocol\"}", atLeast: 1);
    }

    [Fact]
    public async Task A_handshake_that_never_completes_loses_its_slot_after_first_request_ms()
    {
        await using var upstream = new ScriptedUpstream(UpstreamScripts.Echo);
        await using GatewayUnderTest gw = StartTls(upstream, firstRequestMs: 300);
        using Socket silent = await ConnectRawAsync(gw);
        // Half a ClientHello, then nothing: the gateway waits inside the handshake.
        await silent.SendAsync(new byte[] { 0x16, 0x03, 0x01, 0x02, 0x00, 0x01 }, SocketFlags.None);
        Assert.True(await ClosedWithinAsync(silent, TimeSpan.FromSeconds(15)), "a stalled handshake kept its connection");
        await WaitForMetricAsync(gw, "fastmcp_tls_handshake_failures_total{reason=\"timeout\"}", atLeast: 1);
        await WaitForMetricAsync(gw, "fastmcp_connections_open", atLeast: 0, atMost: 0);
    }

    [Fact]
    public async Task Required_client_certificate_refuses_a_client_without_one_or_from_another_ca()
    {
        await using var upstream = new ScriptedUpstream(UpstreamScripts.Echo);
        await using GatewayUnderTest gw = StartTls(upstream, t =>
        {
            t.ClientCertificates = "require";
            t.ClientCaFile = _pki.PathOf("ca.pem");
        });
        string request = gw.Post(GatewayUnderTest.ToolsList("3"), "Connection: close\r\n");

        Assert.False(await SucceedsAsync(gw, TrustOptions(SslProtocols.Tls13), request), "no client certificate was accepted");
        Assert.False(await SucceedsAsync(gw, WithClientCertificate(TrustOptions(SslProtocols.Tls12), "mallory"), request), "a certificate from another CA was accepted");
        Assert.False(await SucceedsAsync(gw, WithClientCertificate(TrustOptions(SslProtocols.Tls13), "mallory"), request), "a certificate from another CA was accepted");
        Assert.True(await SucceedsAsync(gw, WithClientCertificate(TrustOptions(SslProtocols.Tls12), "alice"), request));
        Assert.True(await SucceedsAsync(gw, WithClientCertificate(TrustOptions(SslProtocols.Tls13), "alice"), request));
        Assert.Equal(2, upstream.Requests.Count);
        await WaitForMetricAsync(gw, "fastmcp_tls_handshake_failures_total{reason=\"client_certificate\"}", atLeast: 3);
    }

    [Fact]
    public async Task The_client_certificate_of_a_mutual_tls_connection_is_in_the_audit_origin_of_its_exchanges()
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
        string token = gw.Token("svc-ci");
        using (TlsTestClient alice = await TlsTestClient.ConnectAsync(gw.Gateway.Endpoint, WithClientCertificate(TrustOptions(SslProtocols.Tls13), "alice")))
        {
            string response = await alice.ExchangeAsync(gw.Gateway.Post(ToolCall(7), $"Authorization: Bearer {token}\r\nConnection: close\r\n"));
            Assert.StartsWith("HTTP/1.1 200", response, StringComparison.Ordinal);
        }
        using (TlsTestClient anonymous = await TlsTestClient.ConnectAsync(gw.Gateway.Endpoint, TrustOptions(SslProtocols.Tls13)))
        {
            string response = await anonymous.ExchangeAsync(gw.Gateway.Post(ToolCall(8), $"Authorization: Bearer {token}\r\nConnection: close\r\n"));
            Assert.StartsWith("HTTP/1.1 200", response, StringComparison.Ordinal);
        }

        static string ToolCall(int id) => "{\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"method\":\"tools/call\",\"params\":{\"name\":\"echo\",\"arguments\":{}}}";

        // The fingerprint is the one openssl prints for the certificate file.
        using var openssl = Process.Start(new ProcessStartInfo("openssl", ["x509", "-noout", "-fingerprint", "-sha256", "-in", _pki.PathOf("alice.pem")])
            { RedirectStandardOutput = true })!;
        string printed = (await openssl.StandardOutput.ReadToEndAsync()).Trim();
        await openssl.WaitForExitAsync();
        string fingerprint = printed[(printed.IndexOf('=') + 1)..];

        string[] records = await gw.StopAndReadAuditAsync();
        System.Text.Json.JsonElement[] exchanges = [.. records.Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement.Clone())
            .Where(r => r.GetProperty("type").GetString() == "McpExchange")];
        static bool HasCertificate(System.Text.Json.JsonElement r) => r.GetProperty("origin").TryGetProperty("certificate", out _);
        // Every record of alice's exchange carries her certificate; the exchange without one carries none.
        Assert.Contains(exchanges, r => r.GetProperty("jsonrpcId").GetRawText() == "8");
        Assert.All(exchanges, r => Assert.Equal(r.GetProperty("jsonrpcId").GetRawText() == "7", HasCertificate(r)));
        System.Text.Json.JsonElement certificate = exchanges.First(HasCertificate).GetProperty("origin").GetProperty("certificate");
        Assert.Equal("CN=alice", certificate.GetProperty("subject").GetString());
        Assert.Equal(fingerprint, certificate.GetProperty("sha256").GetString());
    }

    [Fact]
    public async Task Optional_client_certificate_admits_a_client_without_one_but_not_one_from_another_ca()
    {
        await using var upstream = new ScriptedUpstream(UpstreamScripts.Echo);
        await using GatewayUnderTest gw = StartTls(upstream, t =>
        {
            t.ClientCertificates = "optional";
            t.ClientCaFile = _pki.PathOf("ca.pem");
        });
        string request = gw.Post(GatewayUnderTest.ToolsList("4"), "Connection: close\r\n");
        Assert.True(await SucceedsAsync(gw, TrustOptions(SslProtocols.Tls13), request));
        Assert.True(await SucceedsAsync(gw, WithClientCertificate(TrustOptions(SslProtocols.Tls13), "alice"), request));
        Assert.False(await SucceedsAsync(gw, WithClientCertificate(TrustOptions(SslProtocols.Tls12), "mallory"), request));
    }

    [Fact]
    public async Task Replaced_certificate_files_reach_new_connections_and_a_broken_pair_keeps_the_old_certificate()
    {
        await using var upstream = new ScriptedUpstream(UpstreamScripts.Echo);
        await using GatewayUnderTest gw = StartTls(upstream);
        string first = await ServedSerialAsync(gw);
        Assert.Equal(Serial(_pki.PathOf("server.pem")), first);

        _pki.Server("ca", "rotated", commonName: "localhost-rotated");
        File.Copy(_pki.PathOf("rotated.key"), _pki.PathOf("server.key"), overwrite: true);
        File.Copy(_pki.PathOf("rotated.pem"), _pki.PathOf("server.pem"), overwrite: true);
        string rotated = Serial(_pki.PathOf("rotated.pem"));
        Assert.True(await EventuallyAsync(async () => await ServedSerialAsync(gw) == rotated), "new connections never saw the replaced certificate");
        await WaitForMetricAsync(gw, "fastmcp_tls_certificate_reloads_total", atLeast: 1);

        // A key that is not a key: the gateway logs, counts, and keeps serving the rotated certificate.
        await File.WriteAllTextAsync(_pki.PathOf("server.key"), "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n");
        await WaitForMetricAsync(gw, "fastmcp_tls_certificate_reload_failures_total", atLeast: 1, poke: () => ServedSerialAsync(gw));
        Assert.Equal(rotated, await ServedSerialAsync(gw));
    }

    private SslClientAuthenticationOptions TrustOptions(SslProtocols version)
    {
        X509Certificate2Collection ca = [];
        ca.ImportFromPemFile(_pki.PathOf("ca.pem"));
        var policy = new X509ChainPolicy { TrustMode = X509ChainTrustMode.CustomRootTrust, RevocationMode = X509RevocationMode.NoCheck };
        policy.CustomTrustStore.AddRange(ca);
        return new SslClientAuthenticationOptions
        {
            TargetHost = "localhost",
            EnabledSslProtocols = version,
            ApplicationProtocols = [SslApplicationProtocol.Http2, SslApplicationProtocol.Http11],
            CertificateChainPolicy = policy,
        };
    }

    private SslClientAuthenticationOptions WithClientCertificate(SslClientAuthenticationOptions options, string name)
    {
        var certificate = X509Certificate2.CreateFromPemFile(_pki.PathOf(name + ".pem"), _pki.PathOf(name + ".key"));
        options.ClientCertificateContext = SslStreamCertificateContext.Create(certificate, null, offline: true);
        return options;
    }

    /// <summary>True when a full request gets a 200 over a connection with these options; false when TLS refused it at any point.</summary>
    private static async Task<bool> SucceedsAsync(GatewayUnderTest gw, SslClientAuthenticationOptions options, string request)
    {
        try
        {
            using TlsTestClient client = await TlsTestClient.ConnectAsync(gw.Endpoint, options);
            // With TLS 1.3 the server judges the client certificate after the client thinks the handshake is done.
            string response = await client.ExchangeAsync(request);
            return response.StartsWith("HTTP/1.1 200", StringComparison.Ordinal);
        }
        catch (Exception e) when (e is AuthenticationException or IOException or SocketException)
        {
            return false;
        }
    }

    private async Task<string> ServedSerialAsync(GatewayUnderTest gw)
    {
        using TlsTestClient client = await TlsTestClient.ConnectAsync(gw.Endpoint, TrustOptions(SslProtocols.Tls13));
        return client.Stream.RemoteCertificate!.GetSerialNumberString();
    }

    private static string Serial(string pemFile)
    {
        using X509Certificate2 c = X509Certificate2.CreateFromPem(File.ReadAllText(pemFile));
        return c.GetSerialNumberString();
    }

    private static async Task<bool> EventuallyAsync(Func<Task<bool>> condition)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(15))
        {
            if (await condition()) return true;
            await Task.Delay(100);
        }
        return false;
    }

    private static async Task WaitForMetricAsync(GatewayUnderTest gw, string series, long atLeast, long atMost = long.MaxValue, Func<Task>? poke = null)
    {
        long last = -1;
        bool met = await EventuallyAsync(async () =>
        {
            if (poke is not null) await poke();
            string metrics = await AdminGet.TextAsync(gw.AdminEndpoint, "/metrics");
            last = MetricValue(metrics, series);
            return last >= atLeast && last <= atMost;
        });
        Assert.True(met, $"{series} = {last}, expected between {atLeast} and {atMost}");
    }

    private static long MetricValue(string metrics, string series)
    {
        foreach (string line in metrics.Split('\n'))
        {
            if (line.StartsWith(series + " ", StringComparison.Ordinal)) return long.Parse(line.AsSpan(series.Length + 1), System.Globalization.CultureInfo.InvariantCulture);
        }
        return -1;
    }

    private static async Task<Socket> ConnectRawAsync(GatewayUnderTest gw)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(gw.Endpoint);
        return socket;
    }

    private static async Task<bool> ClosedWithinAsync(Socket client, TimeSpan bound)
    {
        using var cts = new CancellationTokenSource(bound);
        var buffer = new byte[4096];
        try
        {
            while (true)
            {
                int n = await client.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
                if (n == 0) return true;
            }
        }
        catch (SocketException)
        {
            return true; // reset
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private static async Task<(int ExitCode, string Output)> CurlAsync(params string[] arguments)
    {
        var start = new ProcessStartInfo("curl") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in arguments) start.ArgumentList.Add(a);
        start.ArgumentList.Add("--max-time");
        start.ArgumentList.Add("20");
        using Process p = Process.Start(start)!;
        Task<string> stdout = p.StandardOutput.ReadToEndAsync(), stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        return (p.ExitCode, await stdout + await stderr);
    }

    /// <summary>A TLS client connection for tests: handshake with given options, then one request and the whole answer (Connection: close).</summary>
    private sealed class TlsTestClient : IDisposable
    {
        private readonly TcpClient _tcp;

        private TlsTestClient(TcpClient tcp, SslStream stream)
        {
            _tcp = tcp;
            Stream = stream;
        }

        public SslStream Stream { get; }

        public static async Task<TlsTestClient> ConnectAsync(IPEndPoint endpoint, SslClientAuthenticationOptions options)
        {
            var tcp = new TcpClient(AddressFamily.InterNetwork);
            try
            {
                await tcp.ConnectAsync(endpoint);
                var ssl = new SslStream(tcp.GetStream());
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
                await ssl.AuthenticateAsClientAsync(options, cts.Token);
                return new TlsTestClient(tcp, ssl);
            }
            catch
            {
                tcp.Dispose();
                throw;
            }
        }

        public async Task<string> ExchangeAsync(string request)
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            await Stream.WriteAsync(Encoding.UTF8.GetBytes(request), cts.Token);
            using var all = new MemoryStream();
            await Stream.CopyToAsync(all, cts.Token);
            return Encoding.UTF8.GetString(all.ToArray());
        }

        public void Dispose()
        {
            Stream.Dispose();
            _tcp.Dispose();
        }
    }
}
