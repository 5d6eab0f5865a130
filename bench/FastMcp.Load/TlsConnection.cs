using System.IO.Pipelines;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace FastMcp.Load;

/// <summary>
/// An https target's connection: TLS 1.2/1.3 with ALPN http/1.1 over the socket, as pipes over the TLS stream
/// (the same reader and writer code as plain connections). The certificate is checked against --ca or the system CAs.
/// </summary>
internal sealed class TlsConnection : IDuplexPipe, IDisposable
{
    private static readonly StreamPipeReaderOptions ReaderOptions = new(bufferSize: 16 * 1024, minimumReadSize: 4096, leaveOpen: true);
    private static readonly StreamPipeWriterOptions WriterOptions = new(minimumBufferSize: 4096, leaveOpen: true);
    private static X509ChainPolicy? s_policy;
    private static string? s_policyFile;

    private readonly SslStream _stream;

    private TlsConnection(SslStream stream)
    {
        _stream = stream;
        Input = PipeReader.Create(stream, ReaderOptions);
        Output = PipeWriter.Create(stream, WriterOptions);
    }

    public PipeReader Input { get; }
    public PipeWriter Output { get; }

    public static async Task<TlsConnection> OpenAsync(Socket socket, LoadOptions options, CancellationToken cancellation)
    {
        var stream = new SslStream(new NetworkStream(socket, ownsSocket: true));
        try
        {
            await stream.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = options.Target.Host,
                EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                ApplicationProtocols = [SslApplicationProtocol.Http11],
                CertificateChainPolicy = Policy(options.CaFile),
            }, cancellation).ConfigureAwait(false);
        }
        catch
        {
            await stream.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        return new TlsConnection(stream);
    }

    private static X509ChainPolicy? Policy(string? caFile)
    {
        if (caFile is null) return null;
        if (s_policyFile == caFile && s_policy is not null) return s_policy.Clone();
        X509Certificate2Collection ca = [];
        ca.ImportFromPemFile(caFile);
        var policy = new X509ChainPolicy { TrustMode = X509ChainTrustMode.CustomRootTrust, RevocationMode = X509RevocationMode.NoCheck };
        policy.CustomTrustStore.AddRange(ca);
        (s_policy, s_policyFile) = (policy, caFile);
        return policy.Clone();
    }

    public void Dispose()
    {
        Input.Complete();
        Output.Complete();
        _stream.Dispose();
    }
}
