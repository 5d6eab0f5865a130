using System.Security.Cryptography;

namespace FastMcp.Identity;

/// <summary>
/// identity.dpop: how DPoP proofs (RFC 9449) of DPoP-bound tokens are checked. There is no switch to turn the check
/// off: a token bound to a key is accepted only with a proof made by that key.
/// </summary>
public sealed class DpopOptions
{
    /// <summary>How far in the past a proof's iat may lie, 1..600 seconds; also how long its jti is remembered.
    /// A proof may lie up to identity.clockSkewSeconds in the future.</summary>
    public int MaxAgeSeconds { get; set; } = 60;

    /// <summary>Most proof jti values remembered at once (within <see cref="MaxAgeSeconds"/>); when it is full of live
    /// entries, proofs are refused rather than old entries forgotten.</summary>
    public int ReplayCacheSize { get; set; } = 100_000;

    /// <summary>Accept DPoP-bound access tokens only (cnf.jkt, with the DPoP scheme and a proof): a bearer token, one
    /// bound to a client certificate alone included, is refused. Announced as dpop_bound_access_tokens_required
    /// (RFC 9728), and every challenge then names the DPoP scheme alone.</summary>
    public bool Required { get; set; }

    /// <summary>Every DPoP proof must carry a nonce the gateway issued (RFC 9449 §8), so that a proof made in advance
    /// (by whoever held the client's key for a moment) is useless. A proof without one, or with a stale one, is answered
    /// 401 use_dpop_nonce with a fresh nonce in DPoP-Nonce.</summary>
    public bool RequireNonce { get; set; }

    /// <summary>File holding the nonce key (at least 32 bytes; surrounding whitespace ignored): the same key on every
    /// replica lets any of them accept the nonces the others issue. Read whenever the identity settings are built.</summary>
    public string? NonceKeyFile { get; set; }

    /// <summary>Environment variable holding the nonce key, instead of <see cref="NonceKeyFile"/>.</summary>
    public string? NonceKeyEnv { get; set; }

    /// <summary>A nonce is issued per window of this many seconds, 10..3600, and accepted in that window and its neighbours.</summary>
    public int NonceLifetimeSeconds { get; set; } = 120;

    /// <summary>The nonce key read by <see cref="Validate"/>; null unless <see cref="RequireNonce"/>.</summary>
    internal byte[]? NonceKey { get; private set; }

    internal void Validate()
    {
        if (MaxAgeSeconds is < 1 or > 600)
            throw new IdentityConfigurationException("identity.dpop.maxAgeSeconds: must be 1..600");
        if (ReplayCacheSize is < 16 or > 10_000_000)
            throw new IdentityConfigurationException("identity.dpop.replayCacheSize: must be 16..10000000");
        if (NonceLifetimeSeconds is < 10 or > 3600)
            throw new IdentityConfigurationException("identity.dpop.nonceLifetimeSeconds: must be 10..3600");
        bool file = !string.IsNullOrEmpty(NonceKeyFile), env = !string.IsNullOrEmpty(NonceKeyEnv);
        if (!RequireNonce)
        {
            if (file || env)
                throw new IdentityConfigurationException($"identity.dpop.{(file ? "nonceKeyFile" : "nonceKeyEnv")}: set only with requireNonce: true");
            NonceKey = null;
            return;
        }
        if (file == env)
            throw new IdentityConfigurationException("identity.dpop.requireNonce: needs exactly one of nonceKeyFile and nonceKeyEnv (the key every replica shares)");
        byte[] key;
        if (file)
        {
            try
            {
                key = File.ReadAllBytes(NonceKeyFile!);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new IdentityConfigurationException($"identity.dpop.nonceKeyFile: cannot read '{NonceKeyFile}': {FastMcp.Http.PlainError.Describe(e, NonceKeyFile)}");
            }
        }
        else
        {
            string? value = Environment.GetEnvironmentVariable(NonceKeyEnv!);
            if (string.IsNullOrEmpty(value))
                throw new IdentityConfigurationException($"identity.dpop.nonceKeyEnv: environment variable '{NonceKeyEnv}' is not set");
            key = System.Text.Encoding.UTF8.GetBytes(value);
        }
        ReadOnlySpan<byte> trimmed = key.AsSpan().Trim(" \t\r\n"u8);
        if (trimmed.Length < 32)
            throw new IdentityConfigurationException($"identity.dpop.{(file ? "nonceKeyFile" : "nonceKeyEnv")}: the nonce key must be at least 32 bytes (e.g. openssl rand -hex 32)");
        NonceKey = trimmed.ToArray();
        CryptographicOperations.ZeroMemory(key);
    }
}
