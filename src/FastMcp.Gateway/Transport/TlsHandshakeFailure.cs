namespace FastMcp.Gateway.Transport;

/// <summary>Why a client's TLS handshake failed: the reason label of fastmcp_tls_handshake_failures_total.</summary>
internal enum TlsHandshakeFailure : byte
{
    None,
    /// <summary>Not finished within timeouts.firstRequestMs: the connection gave its slot up.</summary>
    Timeout,
    /// <summary>The peer closed or reset the connection mid-handshake (port scanners, health checks speaking TCP only).</summary>
    Closed,
    /// <summary>No common version or cipher, not TLS at all (plain HTTP on the TLS port), a bad record.</summary>
    Protocol,
    /// <summary>tls.clientCertificates refused the client's certificate, or its absence.</summary>
    ClientCertificate,
}

internal static class TlsHandshakeFailures
{
    /// <summary>Entries of a per-reason counter array (index = (int)reason; None unused).</summary>
    public const int Count = 5;

    public static string Label(TlsHandshakeFailure reason) => reason switch
    {
        TlsHandshakeFailure.Timeout => "timeout",
        TlsHandshakeFailure.Closed => "closed",
        TlsHandshakeFailure.Protocol => "protocol",
        TlsHandshakeFailure.ClientCertificate => "client_certificate",
        _ => "none",
    };
}
