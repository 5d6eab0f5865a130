using System.Text.Json;
using Microsoft.IdentityModel.Tokens;

namespace FastMcp.Identity;

/// <summary>
/// Keeps one trusted issuer's signing keys current: loaded at start, refreshed periodically, and
/// refreshed on demand when a token names an unknown kid, at most once per rate-limit window.
/// Control-plane only: the per-request path reads <see cref="Current"/> and never waits on I/O for known keys.
/// </summary>
internal sealed class IssuerKeySource : IDisposable
{
    private readonly TrustedIssuerOptions _options;
    private readonly HttpClient? _http;
    // An issuer's own client (its caFile) is released with it; the validator's shared one is not.
    private readonly bool _ownsHttp;
    private readonly TimeProvider _time;
    private readonly TimeSpan _unknownKeyInterval;
    private readonly SemaphoreSlim _refreshGate = new(1, 1);
    private readonly ITimer? _periodic;
    private SigningKeySnapshot _current = SigningKeySnapshot.Empty;
    private long _lastRefreshTicks;

    public IssuerKeySource(TrustedIssuerOptions options, string audience, HttpClient? http, TimeProvider time, TimeSpan periodicInterval, TimeSpan unknownKeyInterval,
        bool ownsHttp = false)
    {
        _ownsHttp = ownsHttp;
        _options = options;
        Audience = audience;
        _http = http;
        _time = time;
        _unknownKeyInterval = unknownKeyInterval;
        if (periodicInterval > TimeSpan.Zero)
            _periodic = time.CreateTimer(static state => _ = ((IssuerKeySource)state!).RefreshNowAsync(CancellationToken.None), this, periodicInterval, periodicInterval);
    }

    /// <summary>A source whose keys are fixed (the dev key).</summary>
    public IssuerKeySource(string issuer, string audience, SecurityKey key, TimeProvider time)
    {
        _options = new TrustedIssuerOptions { Issuer = issuer, Discovery = false };
        Audience = audience;
        _time = time;
        _current = new SigningKeySnapshot([key]);
        IsStatic = true;
    }

    public string Issuer => _options.Issuer;
    public string Audience { get; }
    public bool IsStatic { get; }
    public SigningKeySnapshot Current => Volatile.Read(ref _current);
    /// <summary>Last refresh error, kept so operators can see why keys are stale; null after a success.</summary>
    public string? LastError { get; private set; }
    public int RefreshCount { get; private set; }

    /// <summary>Key refreshes that failed since start (the gateway kept the keys it had).</summary>
    public long RefreshFailures => Volatile.Read(ref _refreshFailures);
    private long _refreshFailures;

    public async Task LoadAsync(CancellationToken ct)
    {
        Install(await FetchAsync(ct).ConfigureAwait(false));
        Volatile.Write(ref _lastRefreshTicks, _time.GetUtcNow().UtcTicks);
        RefreshCount++;
    }

    /// <summary>
    /// Makes <paramref name="fetched"/> current unless it holds the very keys (kid and material, in order) of the
    /// snapshot in force: then that one stays, so cached tokens keep their one-comparison hit. Any other change is
    /// a new snapshot, against which each cached token is checked on its next use.
    /// </summary>
    private void Install(SigningKeySnapshot fetched)
    {
        if (!fetched.SameKeysAs(Current))
            Volatile.Write(ref _current, fetched);
    }

    /// <summary>Refreshes unless one happened within the rate-limit window. Returns true when new keys were loaded.</summary>
    public async Task<bool> RefreshForUnknownKeyAsync(CancellationToken ct)
    {
        if (IsStatic)
            return false;
        long observed = Volatile.Read(ref _lastRefreshTicks);
        if (_time.GetUtcNow().UtcTicks - observed < _unknownKeyInterval.Ticks)
            return false;
        await _refreshGate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            // Someone else refreshed while we waited: use their result instead of fetching again.
            if (Volatile.Read(ref _lastRefreshTicks) != observed)
                return true;
            Volatile.Write(ref _lastRefreshTicks, _time.GetUtcNow().UtcTicks);
            try
            {
                Install(await FetchAsync(ct).ConfigureAwait(false));
                RefreshCount++;
                LastError = null;
                return true;
            }
            catch (Exception ex) when (ex is IdentityConfigurationException or HttpRequestException or TaskCanceledException or IOException)
            {
                LastError = FastMcp.Http.PlainError.Describe(ex);
                Interlocked.Increment(ref _refreshFailures);
                return false;
            }
        }
        finally
        {
            _refreshGate.Release();
        }
    }

    /// <summary>
    /// Fetches the keys now, whatever the rate limit says (the periodic timer, and an operator's SIGHUP after a key was
    /// revoked). False when the fetch failed: the keys in force stay, and <see cref="LastError"/> says why.
    /// </summary>
    public async Task<bool> RefreshNowAsync(CancellationToken ct)
    {
        if (IsStatic)
            return true;
        await _refreshGate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            Install(await FetchAsync(ct).ConfigureAwait(false));
            Volatile.Write(ref _lastRefreshTicks, _time.GetUtcNow().UtcTicks);
            RefreshCount++;
            LastError = null;
            return true;
        }
        catch (Exception ex)
        {
            // Keep serving with the keys we have; the next tick or an unknown kid tries again.
            LastError = FastMcp.Http.PlainError.Describe(ex);
            Interlocked.Increment(ref _refreshFailures);
            return false;
        }
        finally
        {
            _refreshGate.Release();
        }
    }

    private async Task<SigningKeySnapshot> FetchAsync(CancellationToken ct)
    {
        if (!string.IsNullOrEmpty(_options.JwksFile))
        {
            string json;
            try
            {
                json = await File.ReadAllTextAsync(_options.JwksFile, ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new IdentityConfigurationException($"issuer '{Issuer}': cannot read jwksFile '{_options.JwksFile}': {FastMcp.Http.PlainError.Describe(ex, _options.JwksFile)}", ex);
            }
            return SigningKeySnapshot.Parse(json, $"issuer '{Issuer}' jwksFile '{_options.JwksFile}'");
        }
        if (_http is null)
            throw new IdentityConfigurationException($"issuer '{Issuer}': no HTTP client for key discovery");
        string jwksUri = !string.IsNullOrEmpty(_options.JwksUri) ? _options.JwksUri : await DiscoverJwksUriAsync(ct).ConfigureAwait(false);
        string jwks = await GetAsync(jwksUri, ct).ConfigureAwait(false);
        return SigningKeySnapshot.Parse(jwks, $"issuer '{Issuer}' jwks_uri '{jwksUri}'");
    }

    private async Task<string> DiscoverJwksUriAsync(CancellationToken ct)
    {
        string url = Issuer.TrimEnd('/') + "/.well-known/openid-configuration";
        string json = await GetAsync(url, ct).ConfigureAwait(false);
        try
        {
            using var doc = JsonDocument.Parse(json);
            var root = doc.RootElement;
            // OIDC Discovery §4.3: the document's issuer must be exactly the one we were configured with.
            if (!root.TryGetProperty("issuer", out var iss) || iss.ValueKind != JsonValueKind.String || iss.GetString() != Issuer)
                throw new IdentityConfigurationException($"issuer '{Issuer}': discovery document at {url} names a different issuer");
            if (!root.TryGetProperty("jwks_uri", out var jwksUri) || jwksUri.ValueKind != JsonValueKind.String)
                throw new IdentityConfigurationException($"issuer '{Issuer}': discovery document at {url} has no jwks_uri");
            string value = jwksUri.GetString()!;
            if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || !IdentityOptions.IsSecureOrLoopback(uri))
                throw new IdentityConfigurationException($"issuer '{Issuer}': jwks_uri '{value}' must be https (http only on loopback)");
            return value;
        }
        catch (JsonException ex)
        {
            throw new IdentityConfigurationException($"issuer '{Issuer}': discovery document at {url} is not JSON: {FastMcp.Http.PlainError.Describe(ex)}", ex);
        }
    }

    private async Task<string> GetAsync(string url, CancellationToken ct)
    {
        using var response = await _http!.GetAsync(url, ct).ConfigureAwait(false);
        // Discovery and keys come from the URLs configured (or the document at the issuer names), never from where a redirect
        // points: a redirect could swap the key set tokens are checked with. A refresh that meets one keeps the keys in force.
        if (FastMcp.Http.RedirectRefusal.IsRedirect(response.StatusCode))
            throw new IdentityConfigurationException($"issuer '{Issuer}': GET {FastMcp.Http.RedirectRefusal.Describe(url, response.StatusCode)}");
        if (!response.IsSuccessStatusCode)
            throw new IdentityConfigurationException($"issuer '{Issuer}': GET {url} answered {(int)response.StatusCode}");
        return await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
    }

    public void Dispose()
    {
        _periodic?.Dispose();
        _refreshGate.Dispose();
        if (_ownsHttp) _http?.Dispose();
    }
}
