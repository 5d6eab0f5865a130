using FastMcp.Http;
using FastMcp.Identity;

namespace FastMcp.Gateway.Stages;

/// <summary>
/// Who is calling: the bearer token on every request, verified once and then found by its hash
/// (FastMcp.Identity). Also answers the RFC 9728 protected-resource metadata and builds the
/// WWW-Authenticate challenges. A configuration reload replaces the identity settings in force
/// (<see cref="ReplaceAsync"/>): every holder of this stage sees the new ones from its next request.
/// </summary>
internal sealed class Authentication : IAsyncDisposable
{
    private AuthenticationState _state;
    private int _disposed;

    private readonly bool _certificateBoundTokens;

    private Authentication(AuthenticationState state, bool certificateBoundTokens)
    {
        _state = state;
        IsAnonymous = state.IsAnonymous;
        _certificateBoundTokens = certificateBoundTokens;
    }

    /// <summary>Fixed at start: identity.mode needs a restart.</summary>
    public bool IsAnonymous { get; }

    /// <summary>Failed signing-key (JWKS) refreshes since start, over all issuers.</summary>
    public long KeyRefreshFailures => Current.KeyRefreshFailures;

    /// <summary>Fetches every trusted issuer's signing keys now (Hosting/SigningKeyRefresh.cs); the failures, one line per issuer.</summary>
    public async Task<IReadOnlyList<string>> RefreshKeysAsync()
    {
        AuthenticationState state = Enter();
        try
        {
            return await state.Validator.RefreshKeysAsync().ConfigureAwait(false);
        }
        finally
        {
            state.Exit();
        }
    }

    public byte[] MetadataDocument => Current.MetadataDocument;

    /// <summary>The identity options in force (those of the last applied reload).</summary>
    public IdentityOptions Options => Current.Options;

    private AuthenticationState Current => Volatile.Read(ref _state);

    /// <param name="certificateBoundTokens">The MCP listener asks for client certificates (tls.clientCertificates optional
    /// or require), so certificate-bound tokens can be honoured there; fixed at start, as the listener is.</param>
    public static async Task<Authentication> CreateAsync(IdentityOptions options, bool certificateBoundTokens, CancellationToken ct)
    {
        TokenValidator validator = await TokenValidator.CreateAsync(options, ct).ConfigureAwait(false);
        return new Authentication(new AuthenticationState(validator, options, certificateBoundTokens), certificateBoundTokens);
    }

    /// <summary>
    /// Builds a validator from <paramref name="options"/> (validated, every issuer's keys fetched as at start) and puts it
    /// in force; the next request is verified under it, with an empty cache, so no token verified under the old settings
    /// is accepted without being verified again. The old validator is disposed once the requests using it have finished.
    /// Throws <see cref="IdentityConfigurationException"/> (naming the field or issuer) and changes nothing when it cannot
    /// be built. The mode must be the running one.
    /// </summary>
    public async Task ReplaceAsync(IdentityOptions options, CancellationToken ct)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (options.Mode != Current.Options.Mode)
            throw new IdentityConfigurationException($"identity.mode: '{options.Mode}' is not the running mode '{Current.Options.Mode}' (a restart applies it)");
        TokenValidator validator = await TokenValidator.CreateAsync(options, ct).ConfigureAwait(false);
        AuthenticationState next;
        try
        {
            // Reloads are serialised (ConfigurationReloader's lock): the state read here is the one replaced.
            validator.KeepDpopReplaysOf(Current.Validator);
            next = new AuthenticationState(validator, options, _certificateBoundTokens, Current.KeyRefreshFailures);
        }
        catch
        {
            await validator.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        Interlocked.Exchange(ref _state, next).Exit();
    }

    /// <summary>
    /// A cache hit of a token without cnf completes synchronously without allocating. <paramref name="certificate"/> is the
    /// client certificate of the connection's mutual-TLS handshake (null without one), which a certificate-bound token
    /// needs; <paramref name="origin"/> the scheme and authority the client addressed, for a DPoP proof's htu (null: those
    /// of identity.resource).
    /// </summary>
    public ValueTask<AuthResult> AuthenticateAsync(HttpRequestHead request, Clients.ClientCertificate? certificate, string? origin = null) =>
        Authenticate(request, certificate, origin, proofCheckedEarlier: false);

    /// <summary>
    /// The token of a request admitted earlier and held since (a call waiting for its approval), checked again before the
    /// request is forwarded, under the identity configuration in force: the same check as admission (a cached token: its
    /// expiry with identity.clockSkewSeconds, its key still published, its binding; a token this validator has not verified,
    /// after a reload or an eviction: the full verification), except the DPoP proof, which was verified when the request
    /// came and is single-use (<see cref="SenderEvidence.ProofCheckedEarlier"/>).
    /// </summary>
    public ValueTask<AuthResult> ReauthenticateHeldAsync(HttpRequestHead request, Clients.ClientCertificate? certificate) =>
        Authenticate(request, certificate, origin: null, proofCheckedEarlier: true);

    private ValueTask<AuthResult> Authenticate(HttpRequestHead request, Clients.ClientCertificate? certificate, string? origin, bool proofCheckedEarlier)
    {
        if (IsAnonymous) return new ValueTask<AuthResult>(AuthResult.Success(Principal.Anonymous));
        // Tokens in URLs end up in logs and histories: refused outright (MCP authorization spec).
        if (TokenLocation.IsInQueryString(request.Target))
            return new ValueTask<AuthResult>(AuthResult.Fail(AuthFailure.TokenInQuery, TokenValidator.Describe(AuthFailure.TokenInQuery)));
        AuthenticationState state = Enter();
        ValueTask<AuthResult> pending;
        try
        {
            HttpHeaderTable headers = request.Headers;
            int proofs = headers.Contains(KnownHeader.Dpop) ? CountFields(headers, KnownHeader.Dpop) : 0;
            var evidence = new SenderEvidence
            {
                CertificateSha256 = certificate is null ? default : certificate.Sha256Bytes,
                DpopProof = proofs == 0 ? default : headers.Get(KnownHeader.Dpop),
                DpopFieldCount = proofs,
                Method = request.MethodToken,
                Path = request.Path,
                Origin = origin,
                ProofCheckedEarlier = proofCheckedEarlier,
            };
            pending = state.Validator.ValidateAsync(headers.GetMemory(KnownHeader.Authorization), evidence);
        }
        catch
        {
            state.Exit();
            throw;
        }
        if (pending.IsCompleted)
        {
            state.Exit();
            return pending;
        }
        return new ValueTask<AuthResult>(ExitWhenDoneAsync(pending, state));
    }

    private static int CountFields(HttpHeaderTable headers, KnownHeader kind)
    {
        int n = 0;
        for (int i = headers.IndexOf(kind); i < headers.Count; i++)
        {
            if (headers.KindAt(i) == kind) n++;
        }
        return n;
    }

    // A first sight of a token (the full verification) keeps its validator in use until it is done.
    private static async Task<AuthResult> ExitWhenDoneAsync(ValueTask<AuthResult> pending, AuthenticationState state)
    {
        try
        {
            return await pending.ConfigureAwait(false);
        }
        finally
        {
            state.Exit();
        }
    }

    /// <summary>The state in force, counted as in use. A reload that retires it between the read and the count has
    /// already put its successor in force, so the next read finds that one; only a disposed stage keeps failing.</summary>
    private AuthenticationState Enter()
    {
        AuthenticationState state = Current;
        while (!state.TryEnter())
        {
            AuthenticationState next = Current;
            ObjectDisposedException.ThrowIf(ReferenceEquals(next, state), this);
            state = next;
        }
        return state;
    }

    /// <summary>The verified token of <paramref name="request"/>, for its event stream to re-check (Proxy/StreamTokenWatch.cs).</summary>
    public bool TryLeaseStream(HttpRequestHead request, out TokenLease lease)
    {
        // Counted as in use: a reload may be retiring this validator while its cache is read.
        AuthenticationState state = Enter();
        try
        {
            return state.Validator.TryLease(request.Headers.Get(KnownHeader.Authorization), out lease);
        }
        finally
        {
            state.Exit();
        }
    }

    /// <summary>True when the validator in force verified the leased token (false once it was swapped by a reload).</summary>
    public bool Verified(in TokenLease lease) => lease.IssuedBy(Current.Validator);

    /// <summary>The "WWW-Authenticate: …\r\n" line(s) for a failure of <paramref name="request"/> (precomputed): in the
    /// scheme its Authorization header used, Bearer or DPoP (RFC 9449 §7.1).
    /// A use_dpop_nonce refusal also carries the nonce to use ("DPoP-Nonce: …\r\n", RFC 9449 §8).</summary>
    public ReadOnlySpan<byte> ChallengeLines(AuthFailure failure, HttpRequestHead request)
    {
        AuthenticationState state = Current;
        ReadOnlySpan<byte> lines = state.ChallengeLines(failure, BearerHeader.UsesDpopScheme(request.Headers.Get(KnownHeader.Authorization)));
        if (failure != AuthFailure.UseDpopNonce) return lines;
        // The nonce changes with its window, the challenge does not: joined here, on a refusal.
        ReadOnlySpan<byte> nonce = state.Validator.DpopNonceLine;
        var joined = new byte[lines.Length + nonce.Length];
        lines.CopyTo(joined);
        nonce.CopyTo(joined.AsSpan(lines.Length));
        return joined;
    }

    public bool IsMetadataPath(ReadOnlySpan<byte> path) => Current.IsMetadataPath(path);

    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0) Current.Exit();
        return ValueTask.CompletedTask;
    }
}
