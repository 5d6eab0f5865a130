using System.Security.Cryptography.X509Certificates;
using FastMcp.Gateway.Configuration;

namespace FastMcp.Gateway.Approvals;

/// <summary>The "approvals" section: who may decide, how held clients are kept alive, bounds, and the webhook.</summary>
public sealed class ApprovalOptions
{
    /// <summary>Groups whose members may use the approvals API, and approve calls of rules that name no approvers.</summary>
    public List<string> ApproverGroups { get; set; } = ["approvers"];

    /// <summary>A held call whose client reads SSE gets a keep-alive comment (and a progress notification when it sent a progressToken) this often.</summary>
    public int KeepAliveSeconds { get; set; } = 10;

    /// <summary>Pending approvals kept at once; calls beyond are refused (a bound on memory a caller can consume).</summary>
    public int MaxPending { get; set; } = 1000;

    /// <summary>Pending approvals one subject may have at once.</summary>
    public int MaxPendingPerSubject { get; set; } = 20;

    /// <summary>How long decided approvals stay visible in the API after their decision (or after their grant window closed).</summary>
    public int RetainDecidedSeconds { get; set; } = 3600;

    /// <summary>
    /// File that keeps grant-mode approvals (pending ones and open grants) across a restart, MACed under a key derived from
    /// the card fingerprint key; unset: they end with the process.
    /// </summary>
    public string? StateFile { get; set; }

    public WebhookOptions Webhook { get; set; } = new();

    /// <summary>The other replicas' admin listeners, asked for what this one does not hold (empty: none).</summary>
    public ApprovalPeerOptions Peers { get; set; } = new();

    internal void Validate()
    {
        if (ApproverGroups is null) throw new ConfigurationException("approvals.approverGroups", "must be a list");
        for (int i = 0; i < ApproverGroups.Count; i++)
            if (string.IsNullOrWhiteSpace(ApproverGroups[i])) throw new ConfigurationException($"approvals.approverGroups[{i}]", "is blank");
        if (KeepAliveSeconds is < 1 or > 300) throw new ConfigurationException("approvals.keepAliveSeconds", "must be 1..300");
        if (MaxPending is < 1 or > 1_000_000) throw new ConfigurationException("approvals.maxPending", "must be 1..1000000");
        if (MaxPendingPerSubject < 1) throw new ConfigurationException("approvals.maxPendingPerSubject", "must be at least 1");
        if (RetainDecidedSeconds < 0) throw new ConfigurationException("approvals.retainDecidedSeconds", "must not be negative");
        if (StateFile is not null && string.IsNullOrWhiteSpace(StateFile)) throw new ConfigurationException("approvals.stateFile", "is blank: set a file path or leave it out");
        if (Webhook is null) throw new ConfigurationException("approvals.webhook", "must be an object");
        Webhook.Validate();
        if (Peers is null) throw new ConfigurationException("approvals.peers", "must be an object");
        Peers.Validate();
    }
}

/// <summary>Where new pending approvals and decisions are announced (HTTP POST of JSON, HMAC-signed).</summary>
public sealed class WebhookOptions
{
    /// <summary>http(s) URL to POST to. Empty: no webhook.</summary>
    public string Url { get; set; } = "";

    /// <summary>File holding the HMAC secret (trailing whitespace ignored).</summary>
    public string? SecretFile { get; set; }

    /// <summary>Name of the environment variable holding the HMAC secret (used when secretFile is not set).</summary>
    public string? SecretEnv { get; set; }

    /// <summary>PEM file of the CA certificates the webhook's HTTPS certificate must chain to (only these); unset: the system store.</summary>
    public string? CaFile { get; set; }

    public int TimeoutMs { get; set; } = 5_000;

    /// <summary>Deliveries are retried with exponential backoff (1 s, 2 s, 4 s, …) up to this many attempts.</summary>
    public int MaxAttempts { get; set; } = 5;

    internal bool IsConfigured => !string.IsNullOrEmpty(Url);

    internal void Validate()
    {
        if (!IsConfigured) return;
        if (!Uri.TryCreate(Url, UriKind.Absolute, out Uri? uri) || uri.Scheme is not ("http" or "https") || !string.IsNullOrEmpty(uri.UserInfo))
            throw new ConfigurationException("approvals.webhook.url", "must be an absolute http:// or https:// URL without credentials");
        if (string.IsNullOrEmpty(SecretFile) && string.IsNullOrEmpty(SecretEnv))
            throw new ConfigurationException("approvals.webhook.secretFile", "a webhook needs a signing secret: set secretFile or secretEnv");
        if (!string.IsNullOrEmpty(CaFile)) LoadCaPolicy(uri);
        if (TimeoutMs is < 100 or > 120_000) throw new ConfigurationException("approvals.webhook.timeoutMs", "must be 100..120000");
        if (MaxAttempts is < 1 or > 20) throw new ConfigurationException("approvals.webhook.maxAttempts", "must be 1..20");
    }

    /// <summary>The chain policy of caFile; refused with an http:// URL, where no certificate would be checked.</summary>
    internal X509ChainPolicy LoadCaPolicy(Uri url)
    {
        if (url.Scheme != Uri.UriSchemeHttps)
            throw new ConfigurationException("approvals.webhook.caFile", "set, but approvals.webhook.url is not https://: the CAs would not be used");
        return PemFiles.LoadCaPolicy(CaFile!, "approvals.webhook.caFile");
    }

    /// <summary>Reads the secret from its file or variable; the value is never logged.</summary>
    internal byte[] LoadSecret()
    {
        string? secret;
        if (!string.IsNullOrEmpty(SecretFile))
        {
            try { secret = File.ReadAllText(SecretFile).TrimEnd(); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new ConfigurationException("approvals.webhook.secretFile", $"cannot read '{SecretFile}': {FastMcp.Http.PlainError.Describe(e, SecretFile)}");
            }
        }
        else
        {
            secret = Environment.GetEnvironmentVariable(SecretEnv!);
            if (secret is null) throw new ConfigurationException("approvals.webhook.secretEnv", $"environment variable {SecretEnv} is not set");
        }
        if (secret.Length < 16) throw new ConfigurationException(!string.IsNullOrEmpty(SecretFile) ? "approvals.webhook.secretFile" : "approvals.webhook.secretEnv",
            "the webhook secret must be at least 16 characters");
        return System.Text.Encoding.UTF8.GetBytes(secret);
    }
}
