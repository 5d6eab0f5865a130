using System.Security.Authentication;

namespace FastMcp.Audit.Shipping;

/// <summary>
/// A failed store request in a log line. A refused TLS handshake is said in our own words: the client's message only
/// points at its inner exception (whose text is a resource key under Native AOT), and the fix is the store's trust.
/// </summary>
public static class StoreProblem
{
    public const string UntrustedCertificate =
        "the TLS handshake with the store failed: its certificate must chain to the CAs of shipping.s3.caFile (the system store when unset) and name the endpoint's host";

    /// <summary>The same for the command line, where the CAs come from --ca-file.</summary>
    public const string UntrustedCertificateCli =
        "a TLS handshake failed: the server's certificate is not trusted or does not name its host (an s3:// store behind a private CA needs its CAs given with --ca-file)";

    public static string Describe(Exception e) => IsRefusedHandshake(e) ? UntrustedCertificate : FastMcp.Http.PlainError.Describe(e);

    /// <summary>Whether <paramref name="e"/> or an exception it wraps is a TLS handshake the client refused.</summary>
    public static bool IsRefusedHandshake(Exception e)
    {
        for (Exception? inner = e; inner is not null; inner = inner.InnerException)
        {
            if (inner is AuthenticationException) return true;
        }
        return false;
    }
}
