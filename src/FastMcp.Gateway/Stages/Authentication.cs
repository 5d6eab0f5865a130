using System.Text;
using FastMcp.Http;
using FastMcp.Identity;

namespace FastMcp.Gateway.Stages;

/// <summary>
/// Who is calling: the bearer token on every request, verified once and then found by its hash
/// (FastMcp.Identity). Also answers the RFC 9728 protected-resource metadata and builds the
/// WWW-Authenticate challenges.
/// </summary>
internal sealed class Authentication : IAsyncDisposable
{
    private readonly TokenValidator _validator;
    private readonly IdentityOptions _options;
    private readonly byte[][] _challengeLines;
    private readonly byte[][] _metadataPaths;

    private Authentication(TokenValidator validator, IdentityOptions options)
    {
        _validator = validator;
        _options = options;
        IsAnonymous = options.Mode == IdentityModes.Anonymous;
        MetadataDocument = IsAnonymous ? [] : ResourceMetadata.BuildDocument(options);
        string metadataUrl = IsAnonymous ? "" : ResourceMetadata.MetadataUrl(options);
        AuthFailure[] failures = Enum.GetValues<AuthFailure>();
        _challengeLines = new byte[failures.Length][];
        foreach (AuthFailure f in failures)
        {
            _challengeLines[(int)f] = IsAnonymous ? [] : Encoding.ASCII.GetBytes($"WWW-Authenticate: {ResourceMetadata.BuildChallenge(options, f, metadataUrl)}\r\n");
        }
        string[] paths = IsAnonymous ? [] : ResourceMetadata.WellKnownPaths(options);
        _metadataPaths = Array.ConvertAll(paths, p => Encoding.ASCII.GetBytes(p));
    }

    public bool IsAnonymous { get; }

    /// <summary>Failed signing-key (JWKS) refreshes since start, over all issuers.</summary>
    public long KeyRefreshFailures => _validator.KeyRefreshFailures;

    /// <summary>Fetches every trusted issuer's signing keys now (Hosting/SigningKeyRefresh.cs); the failures, one line per issuer.</summary>
    public Task<IReadOnlyList<string>> RefreshKeysAsync() => _validator.RefreshKeysAsync();
    public byte[] MetadataDocument { get; }
    public IdentityOptions Options => _options;

    public static async Task<Authentication> CreateAsync(IdentityOptions options, CancellationToken ct)
    {
        TokenValidator validator = await TokenValidator.CreateAsync(options, ct).ConfigureAwait(false);
        return new Authentication(validator, options);
    }

    /// <summary>A cache hit completes synchronously without allocating.</summary>
    public ValueTask<AuthResult> AuthenticateAsync(HttpRequestHead request)
    {
        if (IsAnonymous) return new ValueTask<AuthResult>(AuthResult.Success(Principal.Anonymous));
        // Tokens in URLs end up in logs and histories: refused outright (MCP authorization spec).
        if (TokenLocation.IsInQueryString(request.Target))
            return new ValueTask<AuthResult>(AuthResult.Fail(AuthFailure.TokenInQuery, TokenValidator.Describe(AuthFailure.TokenInQuery)));
        return _validator.ValidateAsync(request.Headers.GetMemory(KnownHeader.Authorization));
    }

    /// <summary>The verified token of <paramref name="request"/>, for its event stream to re-check (Proxy/StreamTokenWatch.cs).</summary>
    public bool TryLeaseStream(HttpRequestHead request, out TokenLease lease) => _validator.TryLease(request.Headers.Get(KnownHeader.Authorization), out lease);

    /// <summary>True when the validator in force verified the leased token (false once it was swapped by a reload).</summary>
    public bool Verified(in TokenLease lease) => lease.IssuedBy(_validator);

    /// <summary>The "WWW-Authenticate: …\r\n" line for a failure (precomputed).</summary>
    public ReadOnlySpan<byte> ChallengeLine(AuthFailure failure) => _challengeLines[(int)failure];

    public bool IsMetadataPath(ReadOnlySpan<byte> path)
    {
        foreach (byte[] p in _metadataPaths)
        {
            if (path.SequenceEqual(p)) return true;
        }
        return false;
    }

    public ValueTask DisposeAsync() => _validator.DisposeAsync();
}
