using System.Diagnostics;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using FastMcp.Http;

namespace FastMcp.Identity;

/// <summary>
/// Holds the upstream's OAuth access token as a ready header line and keeps it fresh in the background: fetched at start,
/// renewed refreshBeforeExpirySeconds before it expires (at half-life when it lives less than twice that), retried with
/// a capped backoff when the endpoint fails, and renewed once when the upstream refuses it (401). A token past its expiry
/// is never handed out: the caller then refuses the request instead of sending it without a credential (fail closed).
/// </summary>
internal sealed class OAuthTokenSource : IDisposable
{
    // Retries after a failed token request: the endpoint is not hammered, yet a recovered one is found within half a minute.
    private static readonly TimeSpan FirstRetry = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan MaxRetry = TimeSpan.FromSeconds(30);
    // A 401 renews the token it was answered for once; a new rejection waits this long, so an upstream that refuses
    // every token does not turn each call into a token request.
    private static readonly TimeSpan RejectionRefreshInterval = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan MinRefreshDelay = TimeSpan.FromMilliseconds(200);

    private sealed class HeldToken(byte[] line, long expiresAt)
    {
        public byte[] Line { get; } = line;
        /// <summary>Stopwatch timestamp at which the token expires; long.MaxValue when the endpoint stated no lifetime.</summary>
        public long ExpiresAt { get; } = expiresAt;
        public int Rejected;
    }

    private readonly OAuthClientCredentialsOptions _options;
    private readonly string _headerName;
    private readonly string? _scheme;
    private readonly string _upstream;
    private readonly Action<string>? _info;
    private readonly Action<string>? _warn;
    private readonly HttpClient _http;
    private readonly OAuthTokenRequest _request;
    private readonly SemaphoreSlim _wake = new(0, 1);
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _firstAttempt = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ITimer? _secretFileCheck;
    private readonly Lock _secretLock = new();
    private HeldToken? _held;
    private string _secret;
    private long _lastRejectionRefresh = long.MinValue;
    private long _fetchFailures;
    private Task? _loop;

    public OAuthTokenSource(OAuthClientCredentialsOptions options, string headerName, string? scheme, string upstream, TimeProvider time,
        Action<string>? info, Action<string>? warn)
    {
        _options = options;
        _headerName = headerName;
        _scheme = scheme;
        _upstream = upstream;
        _info = info;
        _warn = warn;
        _secret = ReadSecret(out string? error) ?? throw new IdentityConfigurationException(error!);
        if (!string.IsNullOrEmpty(options.ClientSecretFile))
        {
            var interval = TimeSpan.FromMilliseconds(options.FileCheckIntervalMilliseconds);
            _secretFileCheck = time.CreateTimer(static s => ((OAuthTokenSource)s!).CheckSecretFile(), this, interval, interval);
        }
        // The CAs of oauth.caFile were checked by Validate at start.
        _http = CreateHttpClient(options, upstream, "oauth");
        _request = new OAuthTokenRequest(options, _http);
    }

    /// <summary>Starts fetching and waits (at most timeoutMs more) for the first attempt, so a reachable endpoint gives a token before traffic.</summary>
    public void Start()
    {
        _loop = Task.Run(() => RunAsync(_stop.Token));
        _firstAttempt.Task.Wait(TimeSpan.FromMilliseconds(_options.TimeoutMs + 1000));
    }

    /// <summary>The header line of an unexpired token, or null while none is held. Read per request: one volatile read and a clock read.</summary>
    public byte[]? CurrentLine
    {
        get
        {
            HeldToken? held = Volatile.Read(ref _held);
            if (held is null || Stopwatch.GetTimestamp() >= held.ExpiresAt) return null;
            return held.Line;
        }
    }

    /// <summary>Seconds the held token still lives: 0 when none is held or it expired, +Infinity when the endpoint stated no lifetime.</summary>
    public double RemainingSeconds
    {
        get
        {
            HeldToken? held = Volatile.Read(ref _held);
            if (held is null) return 0;
            if (held.ExpiresAt == long.MaxValue) return double.PositiveInfinity;
            return Math.Max(0, Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), held.ExpiresAt).TotalSeconds);
        }
    }

    /// <summary>Token requests that failed since start.</summary>
    public long FetchFailures => Interlocked.Read(ref _fetchFailures);

    /// <summary>Why the last token request failed; null after a success. Read by /readyz on other threads.</summary>
    public string? LastError
    {
        get => Volatile.Read(ref _lastError);
        private set => Volatile.Write(ref _lastError, value);
    }
    private string? _lastError;

    /// <summary>
    /// The upstream answered 401 to a request sent with <paramref name="line"/>: renew that token once (the request itself
    /// is not repeated; it may not be idempotent), unless another rejection renewed one moments ago.
    /// </summary>
    public void ReportRejected(byte[] line)
    {
        HeldToken? held = Volatile.Read(ref _held);
        if (held is null || !ReferenceEquals(held.Line, line) || Interlocked.Exchange(ref held.Rejected, 1) == 1) return;
        long now = Stopwatch.GetTimestamp();
        long last = Interlocked.Read(ref _lastRejectionRefresh);
        if (last != long.MinValue && Stopwatch.GetElapsedTime(last, now) < RejectionRefreshInterval) return;
        if (Interlocked.CompareExchange(ref _lastRejectionRefresh, now, last) != last) return;
        _info?.Invoke($"upstream '{_upstream}' refused the gateway's access token (401): requesting a new one");
        Wake();
    }

    private void Wake()
    {
        try
        {
            if (_wake.CurrentCount == 0) _wake.Release();
        }
        catch (SemaphoreFullException)
        {
            // Already woken.
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private async Task RunAsync(CancellationToken ct)
    {
        int failures = 0;
        while (!ct.IsCancellationRequested)
        {
            TimeSpan wait;
            string secret;
            lock (_secretLock) secret = _secret;
            long asked = Stopwatch.GetTimestamp();
            OAuthTokenResponse? token;
            string? error;
            try
            {
                (token, error) = await _request.SendAsync(secret, ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // Whatever the failure, the loop lives on: a token source that stopped renewing would never recover.
                (token, error) = (null, $"token request to {_options.TokenUrl} failed: {e.GetType().Name}");
            }
            catch (OperationCanceledException)
            {
                return;
            }
            if (ct.IsCancellationRequested) return;
            if (token is { } t && TryInstall(t, asked, out error))
            {
                if (failures > 0 || LastError is not null) _info?.Invoke($"upstream '{_upstream}': access token obtained from {_options.TokenUrl} after {failures} failed request(s)");
                failures = 0;
                LastError = null;
                wait = RefreshDelay(t.ExpiresInSeconds);
            }
            else
            {
                failures++;
                Interlocked.Increment(ref _fetchFailures);
                // One line per new reason: an endpoint down for an hour does not flood the log.
                if (error != LastError) _warn?.Invoke($"upstream '{_upstream}': cannot obtain an access token: {error}; "
                    + (CurrentLine is null ? "requests to it are refused (503) until one is obtained" : "the current token is kept until it expires"));
                LastError = error;
                wait = Backoff(failures);
            }
            _firstAttempt.TrySetResult();
            try
            {
                await _wake.WaitAsync(wait, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private bool TryInstall(OAuthTokenResponse token, long asked, out string? error)
    {
        if (!UpstreamCredential.TryBuildLine(_headerName, _scheme, System.Text.Encoding.UTF8.GetBytes(token.AccessToken), out byte[] line, out error))
        {
            error = $"token endpoint {_options.TokenUrl}: the access token cannot be sent in a header: {error}";
            return false;
        }
        // The lifetime counts from when the token was asked for: the answer's travel time is already spent.
        long expiresAt = token.ExpiresInSeconds is int seconds ? asked + (long)(seconds * (double)Stopwatch.Frequency) : long.MaxValue;
        Volatile.Write(ref _held, new HeldToken(line, expiresAt));
        return true;
    }

    private TimeSpan RefreshDelay(int? expiresIn)
    {
        // No stated lifetime: kept until the upstream refuses it (ReportRejected wakes the loop).
        if (expiresIn is not int seconds) return Timeout.InfiniteTimeSpan;
        var lifetime = TimeSpan.FromSeconds(seconds);
        var before = TimeSpan.FromSeconds(_options.RefreshBeforeExpirySeconds);
        TimeSpan delay = lifetime > before * 2 ? lifetime - before : lifetime / 2;
        return delay < MinRefreshDelay ? MinRefreshDelay : delay;
    }

    private static TimeSpan Backoff(int failures)
    {
        double ms = FirstRetry.TotalMilliseconds * Math.Pow(2, Math.Min(failures - 1, 16));
        return ms >= MaxRetry.TotalMilliseconds ? MaxRetry : TimeSpan.FromMilliseconds(ms);
    }

    private string? ReadSecret(out string? error) => ReadClientSecret(_options, "oauth", out error);

    /// <summary>The client secret from its file or environment variable, trimmed; null with why (naming identity.upstreamCredential.<paramref name="section"/>) when there is none.</summary>
    internal static string? ReadClientSecret(OAuthClientCredentialsOptions options, string section, out string? error)
    {
        error = null;
        string? value;
        if (!string.IsNullOrEmpty(options.ClientSecretFile))
        {
            try
            {
                value = File.ReadAllText(options.ClientSecretFile);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                error = $"identity.upstreamCredential.{section}.clientSecretFile: cannot read '{options.ClientSecretFile}': {FastMcp.Http.PlainError.Describe(e, options.ClientSecretFile)}";
                return null;
            }
        }
        else
        {
            value = Environment.GetEnvironmentVariable(options.ClientSecretEnv!);
        }
        value = value?.Trim();
        if (string.IsNullOrEmpty(value))
        {
            error = string.IsNullOrEmpty(options.ClientSecretFile)
                ? $"identity.upstreamCredential.{section}.clientSecretEnv: environment variable '{options.ClientSecretEnv}' is not set"
                : $"identity.upstreamCredential.{section}.clientSecretFile: '{options.ClientSecretFile}' is empty";
            return null;
        }
        return value;
    }

    /// <summary>The HTTP client of a token source: the system trust store or only the CAs of caFile, no redirects (a token
    /// endpoint that redirects is misconfigured, and the secret must not follow), bounded answers.</summary>
    internal static HttpClient CreateHttpClient(OAuthClientCredentialsOptions options, string upstream, string section)
    {
        X509ChainPolicy? privateCa = string.IsNullOrEmpty(options.CaFile) ? null
            : PrivateCaTrust.TryLoadPolicy(options.CaFile, out string caProblem) ?? throw new IdentityConfigurationException($"{upstream}: {section}.caFile: {caProblem}");
        return new HttpClient(PrivateCaTrust.Apply(new SocketsHttpHandler { AllowAutoRedirect = false, PooledConnectionLifetime = TimeSpan.FromMinutes(5) }, privateCa))
        {
            Timeout = TimeSpan.FromMilliseconds(options.TimeoutMs),
            MaxResponseContentBufferSize = 64 * 1024,
        };
    }

    // Polled like the value file (secret mounts swap symlinks that watchers miss). A changed secret is used from the next
    // request on; when the gateway holds no good token, that request is made at once.
    private void CheckSecretFile()
    {
        string? value = ReadSecret(out string? error);
        if (value is null)
        {
            if (error != LastError) _warn?.Invoke($"upstream '{_upstream}': {error}; the previous client secret is kept");
            return;
        }
        lock (_secretLock)
        {
            if (value == _secret) return;
            _secret = value;
        }
        _info?.Invoke($"upstream '{_upstream}': client secret file changed; it is used from the next token request");
        if (CurrentLine is null || LastError is not null) Wake();
    }

    public void Dispose()
    {
        _secretFileCheck?.Dispose();
        _stop.Cancel();
        try
        {
            _loop?.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
            // The loop ends by cancellation; nothing else to report at stop.
        }
        _http.Dispose();
        _stop.Dispose();
        _wake.Dispose();
    }
}
