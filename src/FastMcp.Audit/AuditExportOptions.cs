using System.Net;
using System.Security.Cryptography.X509Certificates;
using FastMcp.Http;

namespace FastMcp.Audit;

/// <summary>
/// audit.export: records are POSTed to a SIEM endpoint as they become durable (docs/configuration.md). Plain settable
/// class for source-generated JSON binding; <see cref="Validate"/> names the first bad field (export.*).
/// </summary>
public sealed class AuditExportOptions
{
    public const string Ndjson = "ndjson";
    public const string SplunkHec = "splunk-hec";

    /// <summary>https endpoint (http only to a loopback address).</summary>
    public string Url { get; set; } = "";
    /// <summary><see cref="Ndjson"/> or <see cref="SplunkHec"/>.</summary>
    public string Format { get; set; } = Ndjson;
    /// <summary>File holding the endpoint's token (read at start; trailing whitespace dropped).</summary>
    public string? TokenFile { get; set; }
    /// <summary>Environment variable holding the token, when there is no file.</summary>
    public string? TokenEnv { get; set; }
    /// <summary>Most records in one POST.</summary>
    public int BatchRecords { get; set; } = 500;
    /// <summary>How often the exporter looks for new durable records.</summary>
    public int FlushMs { get; set; } = 1000;
    /// <summary>Per POST.</summary>
    public int TimeoutMs { get; set; } = 5000;
    /// <summary>Longest wait between retries after a failed POST (the wait doubles from FlushMs up to this).</summary>
    public int MaxBackoffMs { get; set; } = 30_000;
    /// <summary>PEM CAs the endpoint's certificate must chain to (only these); unset: the system store.</summary>
    public string? CaFile { get; set; }

    public void Validate()
    {
        if (!Uri.TryCreate(Url, UriKind.Absolute, out var uri) || !(uri.Scheme == Uri.UriSchemeHttps || (uri.Scheme == Uri.UriSchemeHttp && IsLoopback(uri))))
            throw new ArgumentException($"Audit.Export.Url '{Url}' must be an https URL (http only to loopback).", "export.url");
        if (Format is not (Ndjson or SplunkHec))
            throw new ArgumentException($"Audit.Export.Format must be {Ndjson} or {SplunkHec}.", "export.format");
        if (TokenFile is not null && TokenEnv is not null)
            throw new ArgumentException("Audit.Export.TokenFile and TokenEnv: set one, not both.", "export.tokenFile");
        if (TokenFile is not null) ReadToken();
        if (TokenEnv is not null) ReadToken();
        if (BatchRecords is < 1 or > 100_000) throw new ArgumentException("Audit.Export.BatchRecords must be 1-100000.", "export.batchRecords");
        if (FlushMs is < 1 or > 3_600_000) throw new ArgumentException("Audit.Export.FlushMs must be 1-3600000.", "export.flushMs");
        if (TimeoutMs is < 1 or > 600_000) throw new ArgumentException("Audit.Export.TimeoutMs must be 1-600000.", "export.timeoutMs");
        if (MaxBackoffMs < FlushMs) throw new ArgumentException("Audit.Export.MaxBackoffMs must be at least FlushMs.", "export.maxBackoffMs");
        if (CaFile is not null) LoadCaPolicy();
    }

    /// <summary>The token, or null when none is configured; a configured one that cannot be read is refused (never logged).</summary>
    internal string? ReadToken()
    {
        if (TokenFile is not null)
        {
            string? text = PrivateCaTrust.TryReadText(TokenFile, out string problem);
            if (text is null) throw new ArgumentException(problem, "export.tokenFile");
            text = text.Trim();
            if (text.Length == 0 || HasControl(text)) throw new ArgumentException($"'{TokenFile}' holds no usable token (empty or control characters)", "export.tokenFile");
            return text;
        }
        if (TokenEnv is not null)
        {
            string? text = Environment.GetEnvironmentVariable(TokenEnv)?.Trim();
            if (string.IsNullOrEmpty(text) || HasControl(text)) throw new ArgumentException($"environment variable '{TokenEnv}' holds no usable token", "export.tokenEnv");
            return text;
        }
        return null;
    }

    /// <summary>caFile's chain policy; refused without an https:// url, where it would not be used.</summary>
    internal X509ChainPolicy? LoadCaPolicy()
    {
        if (CaFile is null) return null;
        if (!Url.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
            throw new ArgumentException("set, but export.url is not https://: the CAs would not be used", "export.caFile");
        return PrivateCaTrust.TryLoadPolicy(CaFile, out string problem) ?? throw new ArgumentException(problem, "export.caFile");
    }

    private static bool IsLoopback(Uri uri) =>
        uri.IsLoopback || (IPAddress.TryParse(uri.IdnHost, out var ip) && IPAddress.IsLoopback(ip));

    private static bool HasControl(string s)
    {
        foreach (char c in s) if (char.IsControl(c)) return true;
        return false;
    }
}
