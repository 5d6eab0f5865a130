using System.Text;
using FastMcp.Identity;

namespace FastMcp.Gateway.Stages;

/// <summary>
/// One identity configuration in force: its token validator (which owns the verified-token cache and the issuers' key
/// refresh loops), the options it was built from, and what is derived from them (challenge lines, RFC 9728 metadata
/// document and paths). Immutable, so a reload replaces it whole and no request sees half of an old and half of a new one.
/// Counted while in use: the validator is disposed only once it is retired and the last request under it has finished.
/// </summary>
internal sealed class AuthenticationState
{
    private readonly byte[][] _challengeLines;
    private readonly byte[][] _metadataPaths;
    // 1 for being in force, +1 per use in progress; 0 means disposed (or about to be), never entered again.
    private int _references = 1;
    private readonly long _retiredKeyRefreshFailures;

    /// <param name="retiredKeyRefreshFailures">Key refresh failures of the validators this one replaced, so the metric counts since start.</param>
    /// <param name="certificateBoundTokens">The MCP listener asks for client certificates (announced in the metadata).</param>
    public AuthenticationState(TokenValidator validator, IdentityOptions options, bool certificateBoundTokens, long retiredKeyRefreshFailures = 0)
    {
        Validator = validator;
        Options = options;
        _retiredKeyRefreshFailures = retiredKeyRefreshFailures;
        IsAnonymous = options.Mode == IdentityModes.Anonymous;
        MetadataDocument = IsAnonymous ? [] : ResourceMetadata.BuildDocument(options, certificateBoundTokens);
        string metadataUrl = IsAnonymous ? "" : ResourceMetadata.MetadataUrl(options);
        AuthFailure[] failures = Enum.GetValues<AuthFailure>();
        // Two per failure: for a request that used the Bearer scheme (or none), and for one that used DPoP.
        _challengeLines = new byte[failures.Length * 2][];
        foreach (AuthFailure f in failures)
        {
            _challengeLines[(int)f * 2] = IsAnonymous ? [] : Lines(ResourceMetadata.BuildChallenges(options, f, dpopScheme: false, metadataUrl));
            _challengeLines[(int)f * 2 + 1] = IsAnonymous ? [] : Lines(ResourceMetadata.BuildChallenges(options, f, dpopScheme: true, metadataUrl));
        }
        string[] paths = IsAnonymous ? [] : ResourceMetadata.WellKnownPaths(options);
        _metadataPaths = Array.ConvertAll(paths, p => Encoding.ASCII.GetBytes(p));
    }

    public TokenValidator Validator { get; }
    public IdentityOptions Options { get; }
    public bool IsAnonymous { get; }
    public byte[] MetadataDocument { get; }

    /// <summary>Failed key refreshes since start: this validator's and those of the ones it replaced.</summary>
    public long KeyRefreshFailures => _retiredKeyRefreshFailures + Validator.KeyRefreshFailures;

    /// <summary>The "WWW-Authenticate: …\r\n" line(s) for a failure of a request that used the DPoP scheme or not.</summary>
    public ReadOnlySpan<byte> ChallengeLines(AuthFailure failure, bool dpopScheme) => _challengeLines[(int)failure * 2 + (dpopScheme ? 1 : 0)];

    private static byte[] Lines(string[] challenges)
    {
        var text = new StringBuilder();
        foreach (string challenge in challenges)
            text.Append("WWW-Authenticate: ").Append(challenge).Append("\r\n");
        return Encoding.ASCII.GetBytes(text.ToString());
    }

    public bool IsMetadataPath(ReadOnlySpan<byte> path)
    {
        foreach (byte[] p in _metadataPaths)
        {
            if (path.SequenceEqual(p)) return true;
        }
        return false;
    }

    /// <summary>Counts a use; false when this state was retired and its last use has ended (take the one in force instead).</summary>
    public bool TryEnter()
    {
        int n = Volatile.Read(ref _references);
        while (n > 0)
        {
            int seen = Interlocked.CompareExchange(ref _references, n + 1, n);
            if (seen == n) return true;
            n = seen;
        }
        return false;
    }

    /// <summary>Ends a use (or, once, being in force); the last one disposes the validator.</summary>
    public void Exit()
    {
        if (Interlocked.Decrement(ref _references) == 0)
            _ = Validator.DisposeAsync().AsTask(); // key sources (their refresh timers), HTTP client and crypto providers
    }
}
