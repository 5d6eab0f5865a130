using System.ComponentModel;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using FastMcp.Http;

namespace FastMcp.Http.Tests;

/// <summary>
/// The words operators read for a failure. Real files, sockets and TLS handshakes where they can be had; the exceptions
/// the framework builds with a resource key for a message (as the Native AOT binary does) are built here the same way.
/// </summary>
public sealed class PlainErrorTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fastmcp-plainerror-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static Exception Caught(Action action)
    {
        try { action(); }
        catch (Exception e) { return e; }
        throw new InvalidOperationException("nothing was thrown");
    }

    private static async Task<Exception> CaughtAsync(Func<Task> action)
    {
        try { await action(); }
        catch (Exception e) { return e; }
        throw new InvalidOperationException("nothing was thrown");
    }

    [Fact]
    public void File_problems_are_named()
    {
        string missing = Path.Combine(_dir, "missing.pem");
        Assert.Equal("no such file", PlainError.Describe(Caught(() => File.ReadAllBytes(missing)), missing));
        string deep = Path.Combine(_dir, "nope", "key.pem");
        Assert.Equal("a folder on the path does not exist", PlainError.Describe(Caught(() => File.ReadAllBytes(deep)), deep));
        Assert.Equal("it is a folder, not a file", PlainError.Describe(Caught(() => File.ReadAllBytes(_dir)), _dir));
        Assert.Equal("permission denied", PlainError.Describe(new UnauthorizedAccessException("UnauthorizedAccess_IODenied_Path, /x")));
    }

    [Theory]
    [InlineData(28, "no space left on the device")]
    [InlineData(30, "the file system is read-only")]
    [InlineData(5, "I/O error (EIO, errno 5)")]
    [InlineData(21, "it is a folder, not a file")]
    [InlineData(71, "I/O error (errno 71)")]
    public void An_io_error_says_its_errno(int errno, string expected) =>
        // On Unix the framework makes an IOException from a failed call with the errno as its HResult.
        Assert.Equal(expected, PlainError.Describe(new IOException("IO_FileWrite, /var/lib/x", errno)));

    [Fact]
    public void Our_own_sentences_are_kept_and_resource_keys_never_shown()
    {
        Assert.Equal("the audit log cannot record its generation 3", PlainError.Describe(new IOException("the audit log cannot record its generation 3")));
        string fallback = PlainError.Describe(new InvalidOperationException("InvalidOperation_EnumFailedVersion"));
        Assert.Equal($"InvalidOperationException (0x{new InvalidOperationException().HResult:x8})", fallback);
        Assert.Equal("no such file", PlainError.Describe(new IOException("IO_SharingViolation_File, x", new FileNotFoundException())));
        Assert.Equal("must be 0, 6 or 8", PlainError.Describe(new ArgumentOutOfRangeException("keepFirst", "must be 0, 6 or 8")));
        Assert.Equal("must be 0, 6 or 8", PlainError.Describe(new ArgumentException("must be 0, 6 or 8 Arg_ParamName_Name, keepFirst")));
        Assert.Equal("no such file", PlainError.Describe(new Win32Exception(2, "ErrorStartingProcess, tool, /srv, No such file")));
        Assert.Equal("no such file", PlainError.Describe(new AggregateException(new FileNotFoundException())));
        Assert.Equal("cancelled or timed out", PlainError.Describe(new TaskCanceledException()));
        Assert.Equal("timed out", PlainError.Describe(new TaskCanceledException("net_http_request_timedout, 100", new TimeoutException())));
    }

    [Theory]
    [InlineData("IO_FileNotFound_FileName, /etc/fastmcp/x.pem", true)]
    [InlineData("net_http_ssl_connection_failed", true)]
    [InlineData("", true)]
    [InlineData("ErrorStartingProcess, tool, /srv", true)]
    [InlineData("cannot read the pins file", false)]
    [InlineData("IDX10805: Error deserializing json", false)]
    public void Resource_keys_are_recognised(string message, bool isKey) => Assert.Equal(isKey, PlainError.IsResourceKey(message));

    [Fact]
    public void A_json_error_gives_line_and_byte()
    {
        Exception e = Caught(() => JsonDocument.Parse("{\n  \"a\": x }"));
        Assert.Equal("not valid JSON at line 2, byte 8", PlainError.Describe(e));
    }

    private static int ClosedPort() => UnusedPort.Pick();

    [Fact]
    public async Task A_refused_connection_is_said_for_sockets_and_http()
    {
        int port = ClosedPort();
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        Exception refused = await CaughtAsync(() => socket.ConnectAsync(IPAddress.Loopback, port));
        Assert.Equal("connection refused", PlainError.Describe(refused));

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        Exception failed = await CaughtAsync(() => http.GetAsync($"http://127.0.0.1:{port}/"));
        Assert.Equal("cannot connect: connection refused", PlainError.Describe(failed));
    }

    [Fact]
    public void Http_request_errors_are_classified()
    {
        Assert.Equal("HTTP 404", PlainError.Describe(new HttpRequestException("net_http_message_not_success_statuscode_reason, 404, Not Found", null, HttpStatusCode.NotFound)));
        Assert.Equal("host not found", PlainError.Describe(new HttpRequestException(HttpRequestError.NameResolutionError, "net_http_dns", new SocketException((int)SocketError.HostNotFound))));
        Assert.Equal("the server closed the connection before it answered", PlainError.Describe(new HttpRequestException(HttpRequestError.ResponseEnded, "net_http_invalid_response_premature_eof")));
        Assert.Equal("timed out", PlainError.Describe(new SocketException((int)SocketError.TimedOut)));
        Assert.Equal("network unreachable", PlainError.Describe(new SocketException((int)SocketError.NetworkUnreachable)));
    }

    [Fact]
    public void A_certificate_name_mismatch_and_an_expired_certificate_are_told_apart() =>
        // The message the framework builds for each, under resource keys: the key and the policy errors or chain status.
        Assert.Equal(
            ["the server's certificate does not name the host", "the server's certificate is expired or not yet valid"],
            [PlainError.Describe(new AuthenticationException("net_ssl_io_cert_name_validation")),
             PlainError.Describe(new AuthenticationException("net_ssl_io_cert_chain_validation, NotTimeValid"))]);

    [Fact]
    public async Task An_untrusted_certificate_is_said_in_words()
    {
        using RSA key = RSA.Create(2048);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        using X509Certificate2 ephemeral = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        using X509Certificate2 certificate = X509CertificateLoader.LoadPkcs12(ephemeral.Export(X509ContentType.Pfx), null);

        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        Task server = Task.Run(async () =>
        {
            using TcpClient accepted = await listener.AcceptTcpClientAsync();
            using var tls = new SslStream(accepted.GetStream());
            try { await tls.AuthenticateAsServerAsync(certificate).WaitAsync(TimeSpan.FromSeconds(30)); }
            catch (Exception e) when (e is AuthenticationException or IOException or TimeoutException) { }
        });
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, ((IPEndPoint)listener.LocalEndpoint).Port);
        using var clientTls = new SslStream(client.GetStream());
        Exception refused = await CaughtAsync(() => clientTls.AuthenticateAsClientAsync("localhost"));
        Assert.Equal("the server's certificate is not trusted (it does not chain to a trusted CA)", PlainError.Describe(refused));
        client.Close();
        await server.WaitAsync(TimeSpan.FromSeconds(30));
    }
}
