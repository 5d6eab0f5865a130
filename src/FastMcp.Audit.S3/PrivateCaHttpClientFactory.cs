using System.Net;
using System.Security.Cryptography.X509Certificates;
using Amazon.Runtime;
using FastMcp.Http;

namespace FastMcp.Audit.S3;

/// <summary>
/// The HTTP clients of an S3 client whose endpoint sits behind a private CA (audit.shipping.s3.caFile): the
/// endpoint's certificate must chain to those CAs only, as for every other caFile (<see cref="PrivateCaTrust"/>).
/// Every request the SDK makes goes through a client made here. The SDK caches them per S3 client (no shared key),
/// so they are disposed with it and never lent to a client with other trust.
/// </summary>
internal sealed class PrivateCaHttpClientFactory(X509ChainPolicy policy) : HttpClientFactory
{
    public override HttpClient CreateHttpClient(IClientConfig clientConfig)
    {
        // What the SDK's own client would set, plus the trust: S3 answers redirects itself, bodies are not decompressed.
        var handler = new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = true,
            AllowAutoRedirect = clientConfig.AllowAutoRedirect,
            AutomaticDecompression = DecompressionMethods.None,
        };
        if (clientConfig.ConnectTimeout is { } connect) handler.ConnectTimeout = connect;
        if (clientConfig.MaxConnectionsPerServer is { } most) handler.MaxConnectionsPerServer = most;
        if (clientConfig.GetWebProxy() is { } proxy)
        {
            handler.Proxy = proxy;
            if (clientConfig.ProxyCredentials is { } credentials) proxy.Credentials = credentials;
        }
        var client = new HttpClient(PrivateCaTrust.Apply(handler, policy));
        if (clientConfig.Timeout is { } timeout) client.Timeout = timeout;
        return client;
    }

    /// <summary>Cached by the SDK for its S3 client only (null key), so disposing the store disposes them.</summary>
    public override bool UseSDKHttpClientCaching(IClientConfig clientConfig) => true;

    public override bool DisposeHttpClientsAfterUse(IClientConfig clientConfig) => false;

    public override string? GetConfigUniqueString(IClientConfig clientConfig) => null;
}
