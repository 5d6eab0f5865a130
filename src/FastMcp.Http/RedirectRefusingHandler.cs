namespace FastMcp.Http;

/// <summary>
/// For a client whose caller reads no status itself (an SDK): a redirect answer becomes an HttpRequestException naming the
/// URL asked and the status, so the caller fails as on any unreachable endpoint, with a message that says why. Its inner
/// handler must not follow redirects either (AllowAutoRedirect = false), or this never sees one.
/// </summary>
public sealed class RedirectRefusingHandler(HttpMessageHandler inner) : DelegatingHandler(inner)
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        HttpResponseMessage response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (!RedirectRefusal.IsRedirect(response.StatusCode)) return response;
        System.Net.HttpStatusCode status = response.StatusCode;
        response.Dispose();
        // No StatusCode on the exception: PlainError would say only "HTTP 307", not that it was a redirect refused.
        throw new HttpRequestException(RedirectRefusal.Describe(request.RequestUri?.GetLeftPart(UriPartial.Path) ?? "the endpoint", status));
    }
}
