using System.Net;

namespace FastMcp.Http;

/// <summary>
/// Outbound HTTP clients follow no redirect (their handlers set AllowAutoRedirect = false): a redirect could carry a
/// signed request, an audit segment or a bearer token to another host, or swap the key set a token is checked with.
/// A 3xx answer is then an error that names the URL asked and the status; never where it pointed (a peer's text).
/// </summary>
public static class RedirectRefusal
{
    /// <summary>A handler for a client that must not follow redirects (the default a client here starts from).</summary>
    public static SocketsHttpHandler Handler() => new() { AllowAutoRedirect = false };

    /// <summary>A redirect status (3xx other than 304, which answers a conditional request and points nowhere).</summary>
    public static bool IsRedirect(HttpStatusCode status) => (int)status is >= 300 and <= 399 && status != HttpStatusCode.NotModified;

    /// <summary>"URL answered 307 (a redirect), and redirects are not followed".</summary>
    public static string Describe(string url, HttpStatusCode status) => $"{url} answered {(int)status} (a redirect), and redirects are not followed";
}
