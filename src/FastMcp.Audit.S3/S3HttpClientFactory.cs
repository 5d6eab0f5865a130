using System.Net;
using System.Security.Cryptography.X509Certificates;
using Amazon.Runtime;
using FastMcp.Http;

namespace FastMcp.Audit.S3;

/// <summary>
/// The HTTP clients of the S3 client: they follow no redirect, and a redirect answer is an error naming the URL and the
/// status (<see cref="RedirectRefusingHandler"/>; a 307 would otherwise resend a signed upload, an audit segment, to wherever
/// it points). With an endpoint behind a private CA (audit.shipping.s3.caFile) the endpoint's certificate must chain to
/// those CAs only, as for every other caFile (<see cref="PrivateCaTrust"/>); null: the system store. Every request the SDK
/// makes goes through a client made here. The SDK caches them per S3 client (no shared key), so they are disposed with it
/// and never lent to a client with other trust.
/// </summary>
internal sealed class S3HttpClientFactory(X509ChainPolicy? policy) : HttpClientFactory
{
    public override HttpClient CreateHttpClient(IClientConfig clientConfig)
    {
        // What the SDK's own client would set, plus the trust; bodies are not decompressed. No redirect is followed, whatever
        // the config says: a 307 would resend a signed request with its segment to wherever it points.
        var handler = new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = true,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
        };
        if (clientConfig.ConnectTimeout is { } connect) handler.ConnectTimeout = connect;
        if (clientConfig.MaxConnectionsPerServer is { } most) handler.MaxConnectionsPerServer = most;
        if (clientConfig.GetWebProxy() is { } proxy)
        {
            handler.Proxy = proxy;
            if (clientConfig.ProxyCredentials is { } credentials) proxy.Credentials = credentials;
        }
        var client = new HttpClient(new RedirectRefusingHandler(PrivateCaTrust.Apply(handler, policy)));
        if (clientConfig.Timeout is { } timeout) client.Timeout = timeout;
        return client;
    }

    /// <summary>Cached by the SDK for its S3 client only (null key), so disposing the store disposes them.</summary>
    public override bool UseSDKHttpClientCaching(IClientConfig clientConfig) => true;

    public override bool DisposeHttpClientsAfterUse(IClientConfig clientConfig) => false;

    public override string? GetConfigUniqueString(IClientConfig clientConfig) => null;
}
