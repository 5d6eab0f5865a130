using System.Buffers.Text;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using System.Text;
using FastMcp.Http;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace FastMcp.Identity;

/// <summary>
/// Authenticates requests by their Authorization header. The first sight of a token costs a full
/// JWT validation (algorithm allow-list, issuer, signature by kid, audience, lifetime); after that
/// the token is found in a bounded cache (seeded hash, then exact byte comparison) until it expires or its
/// issuer stops publishing the key that verified it, synchronously and without allocating.
/// </summary>
public sealed class TokenValidator : IAsyncDisposable
{
    private static readonly ValueTask<AuthResult> AnonymousResult = new(AuthResult.Success(Principal.Anonymous));

    private readonly IdentityOptions _options;
    private readonly bool _anonymous;
    private readonly Dictionary<string, IssuerKeySource> _issuers = new(StringComparer.Ordinal);
    private readonly VerifiedTokenCache _cache;
    private readonly JsonWebTokenHandler _handler = new() { MapInboundClaims = false };
    // Signature providers are cached per key thumbprint; the process-wide default cache would hand this validator a
    // provider built on another validator's key object, one that may have been disposed since (a dev key of a
    // gateway stopped in the same process). Each validator keeps its own, released with it.
    private readonly CryptoProviderFactory _crypto = new();
    private readonly HttpClient? _http;
    private readonly TimeProvider _time;
    private readonly TimeSpan _skew;
    private readonly string[] _algorithms;
    private readonly string[] _requiredScopes;
    private readonly string _missingScopeDescription;
    private readonly DpopProofVerifier _dpop;
    private readonly string _resourceOrigin;
    private readonly bool _dpopRequired;
    private DevKey? _devKey;

    private TokenValidator(IdentityOptions options, TimeProvider time, HttpClient? http)
    {
        _options = options;
        _anonymous = options.Mode == IdentityModes.Anonymous;
        _time = time;
        _http = http;
        _skew = TimeSpan.FromSeconds(options.ClockSkewSeconds);
        _algorithms = options.EffectiveAlgorithms;
        _requiredScopes = [.. options.RequiredScopes];
        _missingScopeDescription = "token lacks required scope: " + string.Join(' ', _requiredScopes);
        _cache = new VerifiedTokenCache(options.CacheSize);
        _dpop = new DpopProofVerifier(_algorithms, options.Dpop, _skew, time);
        _dpopRequired = options.Dpop.Required;
        _resourceOrigin = _anonymous ? "" : new Uri(options.Resource, UriKind.Absolute).GetLeftPart(UriPartial.Authority);
    }

    /// <summary>Takes over the DPoP proofs <paramref name="previous"/> remembered, so that a configuration reload opens no
    /// replay window (identity.dpop.replayCacheSize then stays the one of the start). Call before this validator is used.</summary>
    public void KeepDpopReplaysOf(TokenValidator previous)
    {
        ArgumentNullException.ThrowIfNull(previous);
        _dpop.KeepReplaysOf(previous._dpop);
    }

    /// <summary>The "DPoP-Nonce: …\r\n" line of the nonce to hand out now; empty unless identity.dpop.requireNonce.</summary>
    public ReadOnlySpan<byte> DpopNonceLine => _dpop.Nonces is { } nonces ? nonces.CurrentHeaderLine() : default;

    /// <summary>DPoP proofs remembered for replay detection (identity.dpop.replayCacheSize bounds them).</summary>
    public int RememberedDpopProofs => _dpop.RememberedProofs;

    /// <summary>Number of verified tokens currently cached.</summary>
    public int CachedTokenCount => _cache.Count;

    /// <summary>The issuers this validator trusts (dev issuer included in dev mode).</summary>
    public IReadOnlyCollection<string> TrustedIssuers => _issuers.Keys;

    /// <summary>Number of successful key loads for <paramref name="issuer"/> (initial load included); for diagnostics and tests.</summary>
    /// <summary>Failed key (JWKS) refreshes over all issuers since start.</summary>
    public long KeyRefreshFailures
    {
        get
        {
            long n = 0;
            foreach (IssuerKeySource s in _issuers.Values) n += s.RefreshFailures;
            return n;
        }
    }

    public int KeyRefreshCount(string issuer) => _issuers.TryGetValue(issuer, out var s) ? s.RefreshCount : 0;

    /// <summary>
    /// Fetches every issuer's signing keys now, outside the refresh schedule and its rate limit (an operator's SIGHUP
    /// after an identity provider revoked a key). A token verified under a key that is no longer published is refused
    /// from its next use. Returns one line per issuer whose keys could not be fetched (their keys in force stay);
    /// empty when every issuer was refreshed. The dev key is fixed and not refreshed.
    /// </summary>
    public async Task<IReadOnlyList<string>> RefreshKeysAsync(CancellationToken ct = default)
    {
        var failures = new List<string>();
        foreach (IssuerKeySource source in _issuers.Values)
        {
            if (!await source.RefreshNowAsync(ct).ConfigureAwait(false))
                failures.Add($"issuer '{source.Issuer}': {source.LastError}");
        }
        return failures;
    }

    public static Task<TokenValidator> CreateAsync(IdentityOptions options, CancellationToken ct = default) =>
        CreateAsync(options, TimeProvider.System, null, ct);

    /// <summary>Validates the options, loads the dev key (dev mode) and every issuer's keys (discovery or file).</summary>
    /// <param name="httpHandler">Transport for discovery and JWKS requests; null uses a default SocketsHttpHandler.</param>
    public static async Task<TokenValidator> CreateAsync(IdentityOptions options, TimeProvider time, HttpMessageHandler? httpHandler, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        options.Validate();
        HttpClient? http = null;
        if (options.Mode != IdentityModes.Anonymous && options.Issuers.Exists(static i => string.IsNullOrEmpty(i.JwksFile) && string.IsNullOrEmpty(i.CaFile)))
            http = httpHandler is null ? NewKeyClient(FastMcp.Http.RedirectRefusal.Handler(), disposeHandler: true) : NewKeyClient(httpHandler, disposeHandler: false);
        var validator = new TokenValidator(options, time, http);
        try
        {
            await validator.LoadKeysAsync(ct).ConfigureAwait(false);
        }
        catch
        {
            await validator.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        return validator;
    }

    private HttpClient PrivateCaClient(TrustedIssuerOptions issuer)
    {
        int index = _options.Issuers.IndexOf(issuer);
        string urlField = !string.IsNullOrEmpty(issuer.JwksUri) ? "jwksUri" : "issuer";
        var uri = new Uri(!string.IsNullOrEmpty(issuer.JwksUri) ? issuer.JwksUri : issuer.Issuer);
        X509ChainPolicy policy = IdentityOptions.LoadCaPolicy(issuer.CaFile!, uri, $"identity.issuers[{index}].caFile", $"identity.issuers[{index}].{urlField}");
        return NewKeyClient(PrivateCaTrust.Apply(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5), AllowAutoRedirect = false }, policy), disposeHandler: true);
    }

    private static HttpClient NewKeyClient(HttpMessageHandler handler, bool disposeHandler) => new(handler, disposeHandler)
    {
        Timeout = TimeSpan.FromSeconds(10),
        MaxResponseContentBufferSize = 1024 * 1024,
    };

    private async Task LoadKeysAsync(CancellationToken ct)
    {
        if (_anonymous)
            return;
        var periodic = TimeSpan.FromMinutes(_options.KeyRefreshMinutes);
        var unknownKey = TimeSpan.FromSeconds(_options.UnknownKeyRefreshSeconds);
        foreach (var issuer in _options.Issuers)
        {
            // An issuer behind a private CA gets its own client, trusting those CAs only (discovery and JWKS alike).
            HttpClient? privateCa = string.IsNullOrEmpty(issuer.CaFile) ? null : PrivateCaClient(issuer);
            var source = new IssuerKeySource(issuer, issuer.Audience ?? _options.Resource, privateCa ?? _http, _time, periodic, unknownKey, ownsHttp: privateCa is not null);
            _issuers.Add(issuer.Issuer, source);
            try
            {
                await source.LoadAsync(ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
            {
                throw new IdentityConfigurationException($"issuer '{issuer.Issuer}': cannot load signing keys: {FastMcp.Http.PlainError.Describe(ex)}", ex);
            }
        }
        if (_options.Mode == IdentityModes.Dev)
        {
            _devKey = DevKeys.LoadOrCreate(_options.EffectiveDevKeyDirectory);
            _issuers[DevKeys.Issuer] = new IssuerKeySource(DevKeys.Issuer, DevKeys.Audience, _devKey.SecurityKey, _time);
        }
    }

    /// <summary>Authenticates one request from its Authorization header value alone: a request that shows no client
    /// certificate and no DPoP proof, so a sender-constrained token is refused.</summary>
    public ValueTask<AuthResult> ValidateAsync(ReadOnlyMemory<byte> authorizationHeader, CancellationToken ct = default) =>
        ValidateAsync(authorizationHeader, default, ct);

    /// <summary>Authenticates one request from its Authorization header value (bytes as received) and, for a token
    /// bound to a key (cnf), what the request shows of that key. A cached token without cnf completes synchronously
    /// without allocating; a bound token's binding is checked on every use, cached or not.</summary>
    public ValueTask<AuthResult> ValidateAsync(ReadOnlyMemory<byte> authorizationHeader, scoped in SenderEvidence evidence, CancellationToken ct = default)
    {
        if (_anonymous)
            return AnonymousResult;
        var headerSpan = authorizationHeader.Span;
        var failure = BearerHeader.TryGetToken(headerSpan, out var token, out bool dpopScheme);
        if (failure != AuthFailure.None)
            return new ValueTask<AuthResult>(AuthResult.Fail(failure, Describe(failure)));
        ulong hash = TokenKey.Compute(token);
        if (_cache.TryGet(hash, token, out var entry))
        {
            if (entry.NotAfter <= _time.GetUtcNow())
            {
                _cache.Remove(hash);
                return new ValueTask<AuthResult>(AuthResult.Fail(AuthFailure.Expired, Describe(AuthFailure.Expired)));
            }
            if (entry.KeyStillPublished())
            {
                // A cached token proved its signature once; the key it is bound to must be shown again by each request.
                if ((entry.Confirmation is not null || dpopScheme || _dpopRequired) && CheckBinding(entry.Confirmation, dpopScheme, token, evidence) is { } refused)
                    return new ValueTask<AuthResult>(refused);
                return new ValueTask<AuthResult>(entry.MissingRequiredScope
                    ? AuthResult.MissingScope(entry.Principal, _missingScopeDescription)
                    : AuthResult.Success(entry.Principal));
            }
            // The issuer no longer publishes the key that verified this token: forgotten, and validated as if first
            // seen, so it fails exactly as a new token under that key would (unknown kid, or invalid signature).
            _cache.Remove(hash, entry);
        }
        headerSpan.Overlaps(token, out int offset);
        return new ValueTask<AuthResult>(ValidateUncachedAsync(authorizationHeader.Slice(offset, token.Length), hash, dpopScheme, new PendingEvidence(evidence), ct));
    }

    /// <summary>
    /// Null when the request shows the key the token is bound to (or the token is bound to none and came as Bearer);
    /// otherwise the refusal. RFC 8705 §3: the connection's client certificate must be the one in cnf.x5t#S256.
    /// RFC 9449 §7: a jkt-bound token comes with the DPoP scheme and exactly one valid proof; the DPoP scheme with a
    /// token bound to no DPoP key is refused too.
    /// </summary>
    private AuthResult? CheckBinding(Confirmation? confirmation, bool dpopScheme, ReadOnlySpan<byte> token, scoped in SenderEvidence evidence)
    {
        byte[]? thumbprint = confirmation?.KeyThumbprint;
        if (_dpopRequired && thumbprint is null)
            return AuthResult.Fail(AuthFailure.DpopRequired, Describe(AuthFailure.DpopRequired));
        if (dpopScheme && thumbprint is null)
            return AuthResult.Fail(AuthFailure.DpopSchemeMismatch, "the DPoP scheme was used with a token that is not bound to a DPoP key (cnf.jkt)");
        if (!dpopScheme && thumbprint is not null)
            return AuthResult.Fail(AuthFailure.DpopSchemeMismatch, "a DPoP-bound token (cnf.jkt) must be sent with the DPoP scheme and a DPoP proof");
        if (confirmation?.CertificateSha256 is { } certificate)
        {
            if (evidence.CertificateSha256.IsEmpty)
                return AuthResult.Fail(AuthFailure.CertificateMissing, Describe(AuthFailure.CertificateMissing));
            if (!CryptographicOperations.FixedTimeEquals(evidence.CertificateSha256, certificate))
                return AuthResult.Fail(AuthFailure.CertificateMismatch, Describe(AuthFailure.CertificateMismatch));
        }
        if (thumbprint is null)
            return null;
        // The same request's token checked again (a held call before its forward): its proof was verified when it came.
        if (evidence.ProofCheckedEarlier)
            return null;
        if (evidence.DpopFieldCount != 1)
            return AuthResult.Fail(AuthFailure.InvalidDpopProof, evidence.DpopFieldCount == 0 ? "the request has no DPoP proof" : "the request has more than one DPoP field");
        string path = Encoding.ASCII.GetString(evidence.Path);
        if (path.Length == 0 || path[0] != '/' || !Uri.TryCreate((evidence.Origin ?? _resourceOrigin) + path, UriKind.Absolute, out Uri? requestUri))
            return AuthResult.Fail(AuthFailure.InvalidDpopProof, "the request target is not a path the DPoP proof's htu can name");
        string? problem = _dpop.Check(evidence.DpopProof, evidence.Method, requestUri, token, thumbprint, out bool needsNonce);
        return problem is null ? null : AuthResult.Fail(needsNonce ? AuthFailure.UseDpopNonce : AuthFailure.InvalidDpopProof, problem);
    }

    /// <summary>
    /// The cache entry of the token in <paramref name="authorizationHeader"/>, for an event stream to re-check per event
    /// (<see cref="TokenLease"/>). False when it is not cached (never verified, evicted, or anonymous mode).
    /// </summary>
    public bool TryLease(ReadOnlySpan<byte> authorizationHeader, out TokenLease lease)
    {
        lease = default;
        if (_anonymous || BearerHeader.TryGetToken(authorizationHeader, out var token, out _) != AuthFailure.None) return false;
        if (!_cache.TryGet(TokenKey.Compute(token), token, out var entry)) return false;
        lease = new TokenLease(entry, this);
        return true;
    }

    /// <summary>Drops every cached token (e.g. after an issuer was removed from the configuration).</summary>
    public void ClearCache()
    {
        // Recreating would race with readers; removing entries one by one is safe and rare.
        _cache.Clear();
    }

    private async Task<AuthResult> ValidateUncachedAsync(ReadOnlyMemory<byte> tokenBytes, ulong hash, bool dpopScheme, PendingEvidence evidence, CancellationToken ct)
    {
        // Copied before the first await: the caller's buffer is only borrowed for the synchronous part.
        byte[] tokenCopy = tokenBytes.ToArray();
        string tokenText = Encoding.ASCII.GetString(tokenCopy);
        JsonWebToken jwt;
        try
        {
            jwt = new JsonWebToken(tokenText);
        }
        catch (Exception ex) when (ex is ArgumentException or SecurityTokenMalformedException)
        {
            return AuthResult.Fail(AuthFailure.Malformed, "token is not a well-formed JWS");
        }
        if (jwt.IsEncrypted)
            return AuthResult.Fail(AuthFailure.Malformed, "encrypted tokens are not accepted");
        // Checked before any key lookup: "none" and HMAC never reach signature validation.
        if (Array.IndexOf(_algorithms, jwt.Alg) < 0)
            return AuthResult.Fail(AuthFailure.AlgorithmNotAllowed, $"algorithm '{Truncate(jwt.Alg)}' is not allowed");
        if (_options.RequireAccessTokenType && jwt.Typ is not ("at+jwt" or "application/at+jwt"))
            return AuthResult.Fail(AuthFailure.Malformed, "token is not an access token (typ must be at+jwt)");
        // RFC 7515 4.1.11: the gateway understands no JWS extension, so any "crit" header makes the token invalid.
        if (HasHeader(jwt, "crit"))
            return AuthResult.Fail(AuthFailure.Malformed, "token has critical header parameters (crit) the gateway does not understand");
        string issuer = jwt.Issuer;
        if (string.IsNullOrEmpty(issuer) || !_issuers.TryGetValue(issuer, out var source))
            return AuthResult.Fail(AuthFailure.WrongIssuer, $"issuer '{Truncate(issuer)}' is not trusted");

        // The snapshot the key comes from is the one the cache entry remembers: a refresh that lands during this
        // validation is then seen by the entry's first hit, not missed.
        SigningKeySnapshot snapshot = source.Current;
        SecurityKey[] keys;
        string kid = jwt.Kid;
        if (!string.IsNullOrEmpty(kid))
        {
            var key = snapshot.Find(kid);
            if (key is null && await source.RefreshForUnknownKeyAsync(ct).ConfigureAwait(false))
            {
                snapshot = source.Current;
                key = snapshot.Find(kid);
            }
            if (key is null)
                return AuthResult.Fail(AuthFailure.UnknownKey, $"signing key '{Truncate(kid)}' is unknown");
            keys = [key];
        }
        else
        {
            keys = snapshot.All;
            if (keys.Length == 0)
                return AuthResult.Fail(AuthFailure.UnknownKey, "issuer has no signing keys");
        }

        var parameters = new TokenValidationParameters
        {
            ValidIssuer = source.Issuer,
            ValidAudiences = source.IsStatic ? [source.Audience, _options.Resource] : [source.Audience],
            IssuerSigningKeys = keys,
            TryAllIssuerSigningKeys = true,
            ValidAlgorithms = _algorithms,
            ClockSkew = _skew,
            RequireExpirationTime = true,
            RequireSignedTokens = true,
            RequireAudience = true,
            ValidateIssuerSigningKey = false,
            // Lifetime is checked below against our TimeProvider, after the signature proved the claims genuine.
            ValidateLifetime = false,
            LogValidationExceptions = false,
            CryptoProviderFactory = _crypto,
        };
        var result = await _handler.ValidateTokenAsync(jwt, parameters).ConfigureAwait(false);
        if (!result.IsValid && result.Exception is SecurityTokenInvalidSignatureException && !string.IsNullOrEmpty(kid) && !source.IsStatic
            && await source.RefreshForUnknownKeyAsync(ct).ConfigureAwait(false))
        {
            // An issuer that re-keys a kid in place publishes new material under a kid the gateway knows, so the
            // unknown-kid refresh never fires for it: a signature that fails under a known kid asks for one refresh
            // (rate-limited like an unknown kid's) and is checked again only when that kid now names other material.
            SigningKeySnapshot fresh = source.Current;
            SecurityKey? rekeyed = fresh.Find(kid);
            if (rekeyed is not null && !string.Equals(fresh.Identity(rekeyed), snapshot.Identity(keys[0]), StringComparison.Ordinal))
            {
                snapshot = fresh;
                keys = [rekeyed];
                parameters.IssuerSigningKeys = keys;
                result = await _handler.ValidateTokenAsync(jwt, parameters).ConfigureAwait(false);
            }
        }
        if (!result.IsValid)
            return MapException(result.Exception);

        if (jwt.ValidTo == DateTime.MinValue)
            return AuthResult.Fail(AuthFailure.Malformed, "token has no exp claim");
        var now = _time.GetUtcNow();
        var expires = new DateTimeOffset(DateTime.SpecifyKind(jwt.ValidTo, DateTimeKind.Utc));
        if (expires + _skew <= now)
            return AuthResult.Fail(AuthFailure.Expired, Describe(AuthFailure.Expired));
        if (jwt.ValidFrom != DateTime.MinValue && new DateTimeOffset(DateTime.SpecifyKind(jwt.ValidFrom, DateTimeKind.Utc)) - _skew > now)
            return AuthResult.Fail(AuthFailure.NotYetValid, Describe(AuthFailure.NotYetValid));

        Principal? principal;
        Confirmation? confirmation;
        string? error;
        try
        {
            byte[] payload = Base64Url.DecodeFromChars(jwt.EncodedPayload);
            using var doc = JsonDocument.Parse(payload);
            // RFC 7519 4.1.4-4.1.6: NumericDate values; a string or other type is not read leniently.
            if (NonNumericTimeClaim(doc.RootElement) is { } claim)
                return AuthResult.Fail(AuthFailure.Malformed, $"token claim '{claim}' is not a number");
            // A binding the gateway cannot verify is refused before anything else is read from the token.
            if (!Confirmation.TryRead(doc.RootElement, out confirmation, out string? unbound))
                return AuthResult.Fail(AuthFailure.UnsupportedConfirmation, unbound!);
            principal = ClaimMapper.Map(doc.RootElement, _options.ClaimMapping, expires, out error);
        }
        catch (Exception ex) when (ex is FormatException or JsonException)
        {
            return AuthResult.Fail(AuthFailure.Malformed, "token payload is not a JSON object");
        }
        if (principal is null)
            return AuthResult.Fail(AuthFailure.Malformed, error ?? "token has no subject");

        bool missingScope = false;
        foreach (var scope in _requiredScopes)
            missingScope |= !principal.HasScope(scope);
        // The key that verified the signature (with several keys tried, the handler records which one); one the
        // snapshot cannot name leaves the entry valid only until the issuer's keys next change.
        SecurityKey? verifiedBy = keys.Length == 1 ? keys[0] : jwt.SigningKey;
        string? keyIdentity = verifiedBy is null ? null : snapshot.Identity(verifiedBy);
        _cache.Add(hash, new VerifiedTokenCache.Entry(tokenCopy, principal, expires + _skew, missingScope, source, snapshot, kid, keyIdentity, confirmation), now);
        if ((confirmation is not null || dpopScheme || _dpopRequired) && CheckBinding(confirmation, dpopScheme, tokenCopy, evidence.Evidence) is { } refused)
            return refused;
        return missingScope ? AuthResult.MissingScope(principal, _missingScopeDescription) : AuthResult.Success(principal);
    }

    private static bool HasHeader(JsonWebToken jwt, string name)
    {
        try
        {
            byte[] header = Base64Url.DecodeFromChars(jwt.EncodedHeader);
            using var doc = JsonDocument.Parse(header);
            return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty(name, out _);
        }
        catch (Exception ex) when (ex is FormatException or JsonException)
        {
            return true; // a header that cannot be read cannot be shown free of "crit": refused
        }
    }

    private static string? NonNumericTimeClaim(JsonElement payload)
    {
        if (payload.ValueKind != JsonValueKind.Object) return null;
        foreach (string claim in (ReadOnlySpan<string>)["exp", "nbf", "iat"])
        {
            if (payload.TryGetProperty(claim, out JsonElement value) && value.ValueKind != JsonValueKind.Number) return claim;
        }
        return null;
    }

    private static AuthResult MapException(Exception? ex) => ex switch
    {
        SecurityTokenExpiredException => AuthResult.Fail(AuthFailure.Expired, Describe(AuthFailure.Expired)),
        SecurityTokenNotYetValidException => AuthResult.Fail(AuthFailure.NotYetValid, Describe(AuthFailure.NotYetValid)),
        SecurityTokenNoExpirationException => AuthResult.Fail(AuthFailure.Malformed, "token has no exp claim"),
        SecurityTokenInvalidLifetimeException => AuthResult.Fail(AuthFailure.Malformed, "token lifetime is invalid"),
        SecurityTokenInvalidIssuerException => AuthResult.Fail(AuthFailure.WrongIssuer, Describe(AuthFailure.WrongIssuer)),
        SecurityTokenInvalidAudienceException => AuthResult.Fail(AuthFailure.WrongAudience, Describe(AuthFailure.WrongAudience)),
        SecurityTokenInvalidAlgorithmException => AuthResult.Fail(AuthFailure.AlgorithmNotAllowed, Describe(AuthFailure.AlgorithmNotAllowed)),
        SecurityTokenSignatureKeyNotFoundException => AuthResult.Fail(AuthFailure.UnknownKey, Describe(AuthFailure.UnknownKey)),
        SecurityTokenInvalidSignatureException => AuthResult.Fail(AuthFailure.InvalidSignature, Describe(AuthFailure.InvalidSignature)),
        SecurityTokenMalformedException or ArgumentException => AuthResult.Fail(AuthFailure.Malformed, Describe(AuthFailure.Malformed)),
        _ => AuthResult.Fail(AuthFailure.InvalidSignature, "token validation failed"),
    };

    /// <summary>Fixed, attacker-independent text for each failure (safe to put in a response header).</summary>
    public static string Describe(AuthFailure failure) => failure switch
    {
        AuthFailure.None => "ok",
        AuthFailure.MissingToken => "no bearer token",
        AuthFailure.MalformedHeader => "Authorization header is not 'Bearer <token>' or 'DPoP <token>'",
        AuthFailure.TokenInQuery => "access tokens are not accepted in the query string",
        AuthFailure.InvalidSignature => "token signature is invalid",
        AuthFailure.AlgorithmNotAllowed => "token signing algorithm is not allowed",
        AuthFailure.Expired => "token has expired",
        AuthFailure.NotYetValid => "token is not yet valid",
        AuthFailure.WrongIssuer => "token issuer is not trusted",
        AuthFailure.WrongAudience => "token was not issued for this resource",
        AuthFailure.UnknownKey => "token signing key is unknown",
        AuthFailure.InsufficientScope => "token lacks a required scope",
        AuthFailure.Malformed => "token is malformed",
        AuthFailure.UnsupportedConfirmation => "token is bound (cnf) by a method the gateway cannot verify",
        AuthFailure.CertificateMissing => "certificate-bound token presented without its certificate",
        AuthFailure.CertificateMismatch => "certificate-bound token presented with another certificate",
        AuthFailure.DpopSchemeMismatch => "Authorization scheme does not match the token's binding",
        AuthFailure.InvalidDpopProof => "DPoP proof is missing or invalid",
        AuthFailure.DpopRequired => "this resource accepts only DPoP-bound access tokens (cnf.jkt)",
        AuthFailure.UseDpopNonce => "the DPoP proof must carry the nonce in the DPoP-Nonce field",
        _ => "authentication failed",
    };

    private static string Truncate(string value) => value.Length <= 64 ? value : value[..64] + "…";

    public ValueTask DisposeAsync()
    {
        foreach (var source in _issuers.Values)
            source.Dispose();
        _http?.Dispose();
        (_crypto.CryptoProviderCache as IDisposable)?.Dispose();
        _devKey?.Dispose();
        return ValueTask.CompletedTask;
    }
}
