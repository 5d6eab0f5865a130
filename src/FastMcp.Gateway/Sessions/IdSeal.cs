using System.Buffers;
using System.Buffers.Text;
using System.Security.Cryptography;
using FastMcp.Identity;

namespace FastMcp.Gateway.Sessions;

/// <summary>
/// Sealed ids: the client holds <c>prefix + base64url(tag ‖ U)</c> instead of an upstream's id U, where tag is the first
/// 16 bytes of HMAC-SHA-256(K, len‖issuer ‖ len‖subject ‖ len‖upstream name ‖ len‖U) (each length 4 bytes big-endian)
/// and K = HMAC-SHA-256(card fingerprint key, label). Session ids (sessions.sealed: "fms1.", "fastmcp session seal v1";
/// docs/mcp-handling.md, "Sealed session ids"), federated session ids (sessions.sealed on a federated path: "fmf1.",
/// "fastmcp federated session seal v1", where the "upstream" is the route's path and U the members' sessions encoded by
/// Federation/SealedFederatedSessions.cs; "Sealed federated session ids") and format 1 task ids (tasks.sealed: "fmt1.",
/// "fastmcp task seal v1"; "Sealed task ids"; only opened now, Tasks/TaskSeal.cs issues "fmt2.") each have their own
/// label, so one kind of id never opens as another. Every replica sharing the card
/// fingerprint key can tell whose id it is without shared state, so a leaked id is useless to anyone but the caller it
/// was issued to. Sealing and opening allocate nothing (stack or pooled buffers).
/// </summary>
internal sealed class IdSeal
{
    public const int TagLength = 16;

    private const int StackBytes = 512;

    private readonly byte[] _key;
    private readonly byte[] _prefix;

    /// <param name="cardFingerprintKey">the configured card fingerprint key (never a per-process random one: sealed ids must verify on every replica and after a restart)</param>
    private IdSeal(byte[] cardFingerprintKey, ReadOnlySpan<byte> label, ReadOnlySpan<byte> prefix, IdSeal? federatedSessions = null)
    {
        _key = HMACSHA256.HashData(cardFingerprintKey, label);
        _prefix = prefix.ToArray();
        FederatedSessions = federatedSessions;
    }

    /// <summary>Seals Mcp-Session-Id values (sessions.sealed); its <see cref="FederatedSessions"/> seals federated paths' ids.</summary>
    public static IdSeal ForSessions(byte[] cardFingerprintKey) => new(cardFingerprintKey, "fastmcp session seal v1"u8, "fms1."u8,
        new IdSeal(cardFingerprintKey, "fastmcp federated session seal v1"u8, "fmf1."u8));

    /// <summary>
    /// The sealer of federated session ids, made with the session sealer (one setting, sessions.sealed, covers both) from
    /// the same key under its own label; null on sealers of other kinds.
    /// </summary>
    public IdSeal? FederatedSessions { get; }

    /// <summary>Seals task ids (tasks.sealed).</summary>
    public static IdSeal ForTasks(byte[] cardFingerprintKey) => new(cardFingerprintKey, "fastmcp task seal v1"u8, "fmt1."u8);

    /// <summary>What every id this seals starts with.</summary>
    public ReadOnlySpan<byte> Prefix => _prefix;

    /// <summary>Bytes of the sealed id for an upstream id of <paramref name="upstreamIdLength"/> bytes.</summary>
    public int SealedLength(int upstreamIdLength) => _prefix.Length + Base64Url.GetEncodedLength(TagLength + upstreamIdLength);

    /// <summary>Writes the sealed id of <paramref name="upstreamId"/> for <paramref name="caller"/> on <paramref name="upstream"/>; returns its length.</summary>
    public int Seal(ReadOnlySpan<byte> upstreamId, Principal caller, string upstream, Span<byte> destination)
    {
        int raw = TagLength + upstreamId.Length;
        byte[]? rented = raw > StackBytes ? ArrayPool<byte>.Shared.Rent(raw) : null;
        try
        {
            Span<byte> tagAndId = (rented ?? stackalloc byte[StackBytes])[..raw];
            Tag(caller, upstream, upstreamId, tagAndId[..TagLength]);
            upstreamId.CopyTo(tagAndId[TagLength..]);
            Prefix.CopyTo(destination);
            return Prefix.Length + Base64Url.EncodeToUtf8(tagAndId, destination[Prefix.Length..]);
        }
        finally
        {
            if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>
    /// The upstream id a sealed id stands for, written to <paramref name="upstreamId"/> (at least as long as
    /// <paramref name="sealedId"/>), when its tag verifies for <paramref name="caller"/> on <paramref name="upstream"/>;
    /// -1 for anything else (no prefix, not base64url without padding, too short, another caller's or upstream's, forged).
    /// </summary>
    public int Open(ReadOnlySpan<byte> sealedId, Principal caller, string upstream, Span<byte> upstreamId)
    {
        if (!sealedId.StartsWith(Prefix)) return -1;
        ReadOnlySpan<byte> encoded = sealedId[Prefix.Length..];
        // Only the unpadded alphabet is a sealed id: the decoder would also take padding and whitespace.
        if (encoded.ContainsAnyExcept(Base64UrlAlphabet)) return -1;
        int raw = Base64Url.GetMaxDecodedLength(encoded.Length);
        if (raw <= TagLength) return -1;
        byte[]? rented = raw > StackBytes ? ArrayPool<byte>.Shared.Rent(raw) : null;
        try
        {
            Span<byte> tagAndId = (rented ?? stackalloc byte[StackBytes])[..raw];
            if (Base64Url.DecodeFromUtf8(encoded, tagAndId, out _, out int written) != OperationStatus.Done || written <= TagLength) return -1;
            ReadOnlySpan<byte> id = tagAndId[TagLength..written];
            Span<byte> expected = stackalloc byte[TagLength];
            Tag(caller, upstream, id, expected);
            if (!CryptographicOperations.FixedTimeEquals(expected, tagAndId[..TagLength])) return -1;
            id.CopyTo(upstreamId);
            return id.Length;
        }
        finally
        {
            if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private static readonly SearchValues<byte> Base64UrlAlphabet =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"u8);

    /// <summary>The first 16 bytes of HMAC-SHA-256(K, the length-prefixed issuer, subject, upstream name and upstream id).</summary>
    private void Tag(Principal caller, string upstream, ReadOnlySpan<byte> upstreamId, Span<byte> tag)
    {
        int length = SealBinding.Length(caller, upstream, upstreamId);
        byte[]? rented = length > StackBytes ? ArrayPool<byte>.Shared.Rent(length) : null;
        try
        {
            Span<byte> message = (rented ?? stackalloc byte[StackBytes])[..length];
            SealBinding.Write(caller, upstream, upstreamId, message);
            Span<byte> mac = stackalloc byte[32];
            HMACSHA256.HashData(_key, message, mac);
            mac[..TagLength].CopyTo(tag);
        }
        finally
        {
            if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        }
    }
}
