using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace FastMcp.Identity;

/// <summary>
/// Checks a DPoP proof (RFC 9449 §4.3) for one request to a DPoP-bound token: a JWS typed dpop+jwt, signed with an
/// allowed asymmetric algorithm by the public key in its jwk header, for this request's method and URI, issued within
/// the window, never seen before, carrying the token's hash (ath), made by the key the token is bound to (cnf.jkt).
/// Every DPoP-bound request pays this check, cached token or not; a token without cnf never comes here.
/// With identity.dpop.requireNonce, the proof must also carry a nonce the gateway issued recently (<see cref="DpopNonces"/>).
/// </summary>
internal sealed class DpopProofVerifier(string[] algorithms, DpopOptions options, TimeSpan futureSkew, TimeProvider time)
{
    /// <summary>Null unless identity.dpop.requireNonce.</summary>
    public DpopNonces? Nonces { get; } = options.NonceKey is { } key ? new DpopNonces(key, options.NonceLifetimeSeconds, time) : null;

    /// <summary>Proofs longer than this are refused before they are decoded.</summary>
    public const int MaxProofBytes = 8 * 1024;

    private readonly TimeSpan _maxAge = TimeSpan.FromSeconds(options.MaxAgeSeconds);
    private DpopReplayCache _replays = new(options.ReplayCacheSize, TimeSpan.FromSeconds(options.MaxAgeSeconds));

    /// <summary>Takes over <paramref name="previous"/>'s remembered proofs (a reload builds a new verifier: a proof
    /// accepted just before must not be accepted again after), remembering them for the longer of both windows.
    /// Called before this verifier is in use.</summary>
    public void KeepReplaysOf(DpopProofVerifier previous)
    {
        previous._replays.Retain(_maxAge);
        _replays = previous._replays;
    }

    /// <summary>Proofs remembered for replay detection.</summary>
    public int RememberedProofs => _replays.Count;

    /// <summary>Null when the proof holds; otherwise why not (fixed text, or one naming a claim: never the proof itself).
    /// <paramref name="needsNonce"/>: the proof is good but for its nonce (missing or not recent), so the client is to
    /// retry with the current one (RFC 9449 §8, use_dpop_nonce).</summary>
    public string? Check(ReadOnlySpan<byte> proof, ReadOnlySpan<byte> method, Uri requestUri, ReadOnlySpan<byte> accessToken, byte[] boundThumbprint, out bool needsNonce)
    {
        needsNonce = false;
        if (proof.IsEmpty) return "the request has no DPoP proof";
        if (proof.Length > MaxProofBytes) return "the DPoP proof is too long";
        int first = proof.IndexOf((byte)'.');
        int second = first < 0 ? -1 : proof[(first + 1)..].IndexOf((byte)'.');
        if (first <= 0 || second <= 0 || proof[(first + second + 2)..].IndexOf((byte)'.') >= 0)
            return "the DPoP proof is not a compact JWS";
        second += first + 1;
        JsonDocument? header = null, payload = null;
        try
        {
            header = Decode(proof[..first]);
            payload = Decode(proof[(first + 1)..second]);
            byte[]? signature = DecodeBytes(proof[(second + 1)..]);
            if (header is null || payload is null || signature is null
                || header.RootElement.ValueKind != JsonValueKind.Object || payload.RootElement.ValueKind != JsonValueKind.Object)
                return "the DPoP proof is not a compact JWS of JSON objects";
            JsonElement h = header.RootElement, p = payload.RootElement;
            if (!h.TryGetProperty("typ", out JsonElement typ) || typ.ValueKind != JsonValueKind.String || !string.Equals(typ.GetString(), "dpop+jwt", StringComparison.OrdinalIgnoreCase))
                return "the DPoP proof's typ is not dpop+jwt";
            if (!h.TryGetProperty("alg", out JsonElement algElement) || algElement.ValueKind != JsonValueKind.String || Array.IndexOf(algorithms, algElement.GetString()) < 0)
                return "the DPoP proof's alg is not an allowed asymmetric algorithm";
            string alg = algElement.GetString()!;
            if (h.TryGetProperty("crit", out _))
                return "the DPoP proof has critical header parameters (crit) the gateway does not understand";
            if (!h.TryGetProperty("jwk", out JsonElement jwk) || jwk.ValueKind != JsonValueKind.Object)
                return "the DPoP proof has no jwk header";
            if (PublicJwk.Read(jwk, alg, out string? keyProblem) is not { } key)
                return keyProblem;
            using (key)
            {
                if (!key.Verify(proof[..second], signature))
                    return "the DPoP proof's signature is invalid";
                if (!CryptographicOperations.FixedTimeEquals(key.Thumbprint, boundThumbprint))
                    return "the DPoP proof is signed by another key than the one the token is bound to";
            }
            if (!p.TryGetProperty("htm", out JsonElement htm) || htm.ValueKind != JsonValueKind.String || !htm.ValueEquals(method))
                return "the DPoP proof's htm is not this request's method";
            if (!p.TryGetProperty("htu", out JsonElement htu) || htu.ValueKind != JsonValueKind.String || !SameTarget(htu.GetString()!, requestUri))
                return "the DPoP proof's htu is not this request's URI";
            if (!p.TryGetProperty("ath", out JsonElement ath) || ath.ValueKind != JsonValueKind.String || !HashMatches(ath.GetString()!, accessToken))
                return "the DPoP proof's ath is not the hash of the access token";
            if (!p.TryGetProperty("iat", out JsonElement iatElement) || !iatElement.TryGetInt64(out long iat))
                return "the DPoP proof's iat is missing or not an integer";
            DateTimeOffset now = time.GetUtcNow(), issued;
            try
            {
                issued = DateTimeOffset.FromUnixTimeSeconds(iat);
            }
            catch (ArgumentOutOfRangeException)
            {
                return "the DPoP proof's iat is out of range";
            }
            if (issued > now + futureSkew) return "the DPoP proof's iat is in the future";
            if (issued + _maxAge < now) return "the DPoP proof is too old (iat)";
            if (!p.TryGetProperty("jti", out JsonElement jti) || jti.ValueKind != JsonValueKind.String || jti.GetString() is not { Length: > 0 and <= 256 } jtiText)
                return "the DPoP proof's jti is missing or longer than 256 characters";
            // Checked before the proof is remembered: the client retries the same request with a new proof and the nonce.
            if (Nonces is not null)
            {
                bool present = p.TryGetProperty("nonce", out JsonElement nonce);
                if (!present || nonce.ValueKind != JsonValueKind.String || !Nonces.Accepts(nonce.GetString()!))
                {
                    needsNonce = true;
                    return present ? "the DPoP proof's nonce is not one the gateway issued recently" : "the DPoP proof has no nonce";
                }
            }
            // Per key: one client's jti never blocks another's. Remembered until the proof would be stale anyway.
            return _replays.TryRecord(Convert.ToHexString(boundThumbprint) + ":" + jtiText, issued, now) switch
            {
                DpopReplayCache.Outcome.Recorded => null,
                DpopReplayCache.Outcome.Replayed => "the DPoP proof was already used (jti)",
                _ => "the DPoP replay cache is full: proofs are refused until entries age out",
            };
        }
        finally
        {
            header?.Dispose();
            payload?.Dispose();
        }
    }

    /// <summary>RFC 9449 §4.3 step 9: compared without query and fragment, after scheme and host case and default-port normalisation.</summary>
    private static bool SameTarget(string htu, Uri requestUri)
    {
        if (!Uri.TryCreate(htu, UriKind.Absolute, out Uri? claimed) || claimed.Scheme is not ("https" or "http"))
            return false;
        const UriComponents compared = UriComponents.SchemeAndServer | UriComponents.Path;
        return Uri.Compare(claimed, requestUri, compared, UriFormat.UriEscaped, StringComparison.Ordinal) == 0
            && claimed.UserInfo.Length == 0;
    }

    private static bool HashMatches(string ath, ReadOnlySpan<byte> accessToken)
    {
        Span<byte> claimed = stackalloc byte[32];
        if (ath.Length != 43 || !Base64Url.TryDecodeFromChars(ath, claimed, out int written) || written != 32) return false;
        Span<byte> actual = stackalloc byte[32];
        SHA256.HashData(accessToken, actual);
        return CryptographicOperations.FixedTimeEquals(claimed, actual);
    }

    private static JsonDocument? Decode(ReadOnlySpan<byte> part)
    {
        byte[]? bytes = DecodeBytes(part);
        if (bytes is null) return null;
        try
        {
            return JsonDocument.Parse(bytes, new JsonDocumentOptions { MaxDepth = 16 });
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static byte[]? DecodeBytes(ReadOnlySpan<byte> part)
    {
        var bytes = new byte[Base64Url.GetMaxDecodedLength(part.Length)];
        return Base64Url.DecodeFromUtf8(part, bytes, out int consumed, out int written) == System.Buffers.OperationStatus.Done && consumed == part.Length
            ? bytes[..written]
            : null;
    }
}
