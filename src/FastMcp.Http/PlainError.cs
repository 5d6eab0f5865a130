using System.Net.Http;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text.Json;

namespace FastMcp.Http;

/// <summary>
/// Why something failed, in our own words, for operators (configuration errors, log lines, CLI output, /readyz reasons,
/// audit details). The Native AOT binary is built with UseSystemResourceKeys, so the framework's exception messages
/// are resource keys (IO_FileNotFound_FileName, net_http_…) there: the reason is taken from the exception's type and
/// codes instead. A message that is not a resource key (ours, or a library's own sentence) is kept as it is.
/// Never reads or quotes a file's content.
/// </summary>
public static class PlainError
{
    /// <summary>The reason <paramref name="e"/> describes.</summary>
    public static string Describe(Exception e) => Describe(e, path: null);

    /// <summary>
    /// As <see cref="Describe(Exception)"/>, for a failure on <paramref name="path"/>: a folder where a file was
    /// expected is said so (the framework reports it as access denied).
    /// </summary>
    public static string Describe(Exception e, string? path)
    {
        switch (e)
        {
            case AggregateException { InnerExceptions.Count: 1 } aggregate:
                return Describe(aggregate.InnerExceptions[0], path);
            case FileNotFoundException:
                return "no such file";
            case DirectoryNotFoundException:
                return "a folder on the path does not exist";
            case UnauthorizedAccessException:
                return path is not null && Directory.Exists(path) ? "it is a folder, not a file" : "permission denied";
            case PathTooLongException:
                return "the path is too long";
            case SocketException socket:
                return Socket(socket.SocketErrorCode);
            case HttpRequestException http:
                return Http(http);
            case AuthenticationException tls:
                return Tls(tls);
            case JsonException json:
                return Json(json);
            case TimeoutException:
                return "timed out";
            case OperationCanceledException { InnerException: TimeoutException }:
                // HttpClient's own Timeout.
                return "timed out";
            case OperationCanceledException:
                return "cancelled or timed out";
            case System.ComponentModel.Win32Exception native when IsResourceKey(native.Message):
                return Errno(native.NativeErrorCode) ?? $"system error {native.NativeErrorCode}";
            case System.Text.RegularExpressions.RegexParseException regex:
                return $"{regex.Error} at offset {regex.Offset}";
            case ArgumentException argument:
                return ArgumentText(argument);
            case IOException io when Errno(io.HResult) is { } errno:
                return errno;
            case IOException io when io.InnerException is { } inner:
                return KeptMessage(io) ?? Describe(inner, path);
        }
        return KeptMessage(e) ?? Fallback(e);
    }

    private static string Fallback(Exception e) =>
        e.InnerException is { } inner ? Describe(inner) : $"{e.GetType().Name} (0x{e.HResult:x8})";

    // Message appends the parameter name (a resource key under AOT): the sentence before it is ours.
    private static string ArgumentText(ArgumentException e)
    {
        string m = e.Message;
        int cut = m.IndexOf(" Arg_ParamName_Name", StringComparison.Ordinal);
        if (cut < 0) cut = m.IndexOf(" (Parameter '", StringComparison.Ordinal);
        if (cut >= 0) m = m[..cut];
        return IsResourceKey(m) ? $"{e.GetType().Name} for '{e.ParamName}'" : m;
    }

    /// <summary>The message when it is a sentence, not a resource key.</summary>
    private static string? KeptMessage(Exception e) => IsResourceKey(e.Message) ? null : e.Message;

    /// <summary>
    /// Whether <paramref name="message"/> is a framework resource key, with or without its format arguments
    /// ("IO_FileNotFound_FileName, /x", "net_http_ssl_connection_failed"): one word holding an underscore, before any
    /// comma, holding an underscore or written in CamelCase. An empty message counts as one (nothing to say).
    /// </summary>
    public static bool IsResourceKey(string? message)
    {
        if (string.IsNullOrWhiteSpace(message)) return true;
        ReadOnlySpan<char> head = message.AsSpan();
        int comma = head.IndexOf(',');
        if (comma >= 0) head = head[..comma];
        head = head.Trim();
        int upper = 0;
        foreach (char c in head)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c != '_') return false;
            if (char.IsAsciiLetterUpper(c)) upper++;
        }
        // Some keys are one CamelCase word (ErrorStartingProcess); no sentence of ours is.
        return head.IndexOf('_') >= 0 || upper >= 2;
    }

    // On Linux an IOException made from a failed system call carries the errno as its HResult.
    private static string? Errno(int hresult) => hresult switch
    {
        1 or 13 => "permission denied",
        2 => "no such file",
        5 => "I/O error (EIO, errno 5)",
        17 => "the file already exists",
        20 => "a part of the path is not a folder",
        21 => "it is a folder, not a file",
        23 or 24 => "too many open files",
        27 => "the file is too large",
        28 => "no space left on the device",
        30 => "the file system is read-only",
        36 => "the path is too long",
        122 => "the disk quota is exceeded",
        > 0 and < 4096 => $"I/O error (errno {hresult})",
        _ => null,
    };

    private static string Socket(SocketError code) => code switch
    {
        SocketError.ConnectionRefused => "connection refused",
        SocketError.TimedOut => "timed out",
        SocketError.HostNotFound or SocketError.NoData => "host not found",
        SocketError.TryAgain => "host not found (the name server did not answer; try again)",
        SocketError.NetworkUnreachable or SocketError.NetworkDown => "network unreachable",
        SocketError.HostUnreachable or SocketError.HostDown => "host unreachable",
        SocketError.ConnectionReset => "the connection was reset by the peer",
        SocketError.ConnectionAborted or SocketError.Shutdown => "the connection was closed",
        SocketError.AddressAlreadyInUse => "the address is already in use",
        SocketError.AddressNotAvailable => "the address is not available on this host",
        SocketError.AccessDenied => "permission denied",
        _ => $"socket error {code}",
    };

    private static string Http(HttpRequestException e)
    {
        // The inner exception, when there is one, says what the request error only classifies.
        string? inner = e.InnerException is { } i ? Describe(i) : null;
        string? status = e.StatusCode is { } code ? $"HTTP {(int)code}" : null;
        return e.HttpRequestError switch
        {
            HttpRequestError.NameResolutionError => "host not found",
            HttpRequestError.ConnectionError => inner is null ? "cannot connect" : $"cannot connect: {inner}",
            HttpRequestError.SecureConnectionError => inner is null ? "the TLS handshake failed" : $"the TLS handshake failed: {inner}",
            HttpRequestError.HttpProtocolError => "the server broke the HTTP protocol",
            HttpRequestError.ResponseEnded => "the server closed the connection before it answered",
            HttpRequestError.InvalidResponse => "the answer is not valid HTTP",
            HttpRequestError.ConfigurationLimitExceeded => "the answer exceeds a configured limit (headers too long or too many)",
            HttpRequestError.VersionNegotiationError => "the server does not speak the HTTP version asked for",
            HttpRequestError.ProxyTunnelError => "the proxy refused the tunnel",
            HttpRequestError.UserAuthenticationError => "the server refused the credentials",
            HttpRequestError.ExtendedConnectNotSupported => "the server does not support extended CONNECT",
            _ => status ?? inner ?? KeptMessage(e) ?? "the HTTP request failed",
        };
    }

    private static string Tls(AuthenticationException e)
    {
        // Under resource keys the message is still the key plus its argument (the policy errors or chain status).
        string m = e.Message;
        if (m.Contains("name_validation", StringComparison.Ordinal) || m.Contains("NameMismatch", StringComparison.Ordinal))
            return "the server's certificate does not name the host";
        if (m.Contains("NotTimeValid", StringComparison.Ordinal))
            return "the server's certificate is expired or not yet valid";
        if (m.Contains("cert_chain_validation", StringComparison.Ordinal) || m.Contains("UntrustedRoot", StringComparison.Ordinal)
            || m.Contains("PartialChain", StringComparison.Ordinal) || m.Contains("certificate chain", StringComparison.Ordinal))
            return "the server's certificate is not trusted (it does not chain to a trusted CA)";
        if (m.Contains("cert", StringComparison.OrdinalIgnoreCase))
            return "the server's certificate was refused";
        return e.InnerException is { } inner ? $"the TLS handshake failed: {Describe(inner)}" : "the TLS handshake failed";
    }

    private static string Json(JsonException e)
    {
        string at = e.LineNumber is { } line
            ? $" at line {line + 1}, byte {(e.BytePositionInLine ?? 0) + 1}"
            : "";
        string where = string.IsNullOrEmpty(e.Path) || e.Path == "$" ? "" : $" ('{e.Path}')";
        return $"not valid JSON{at}{where}";
    }
}
