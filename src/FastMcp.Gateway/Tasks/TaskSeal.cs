using System.Buffers;
using System.Buffers.Binary;
using System.Buffers.Text;
using System.Security.Cryptography;
using FastMcp.Gateway.Sessions;
using FastMcp.Identity;

namespace FastMcp.Gateway.Tasks;

/// <summary>
/// Sealed task ids (tasks.sealed), format 2: <c>fmt2.</c> + base64url(N ‖ len(T) ‖ T ‖ C ‖ tag). T is the upstream's task
/// id in the clear (2-byte big-endian length), as in format 1, so that an auditor reads it from the records without a key;
/// C and the 16-byte tag are AES-256-GCM of <see cref="SealedTaskPlaintext"/> (the creating call: its arguments may be
/// confidential, so they are encrypted, not only authenticated) under a key derived from the card fingerprint key, with
/// the caller's issuer and subject, the upstream's name and T as associated data (so all of them are authenticated). The
/// nonce N is synthetic, the first 12 bytes of an HMAC over the associated data and the plaintext under a second derived
/// key: one task is shown one id on every replica and every answer, and a nonce repeats only with its whole input. Format
/// 1 ids (<c>fmt1.</c>, tag and id, no call) still open, for a clear refusal (TaskRedecision). docs/mcp-handling.md,
/// "Sealed task ids".
/// </summary>
internal sealed class TaskSeal
{
    public const int NonceLength = 12, TagLength = 16, IdLengthBytes = 2;

    private static ReadOnlySpan<byte> Prefix => "fmt2."u8;

    private const int MaxRaw = NonceLength + IdLengthBytes + TaskBindings.MaxIdBytes + SealedTaskPlaintext.MaxLength + TagLength;

    /// <summary>Longest sealed id the gateway issues or opens (9,637 bytes, with the largest id, target, names and kept arguments).</summary>
    public static readonly int MaxSealedLength = Prefix.Length + Base64Url.GetEncodedLength(MaxRaw);

    /// <summary>Bytes <see cref="Open"/> needs to write an opened id into: the task id, then the creating call's plaintext.</summary>
    public const int MaxOpenedLength = TaskBindings.MaxIdBytes + SealedTaskPlaintext.MaxLength;

    private const int StackBytes = 512;

    private readonly byte[] _nonceKey;
    // AesGcm holds native state: one per thread that seals or opens, made once (Value allocates nothing after that).
    private readonly ThreadLocal<AesGcm> _cipher;

    private TaskSeal(byte[] cardFingerprintKey)
    {
        byte[] key = HMACSHA256.HashData(cardFingerprintKey, "fastmcp task seal v2 key"u8);
        _nonceKey = HMACSHA256.HashData(cardFingerprintKey, "fastmcp task seal v2 nonce"u8);
        _cipher = new ThreadLocal<AesGcm>(() => new AesGcm(key, TagLength));
        V1 = IdSeal.ForTasks(cardFingerprintKey);
    }

    /// <param name="cardFingerprintKey">the configured card fingerprint key (never a per-process random one: sealed ids must open on every replica and after a restart)</param>
    public static TaskSeal Create(byte[] cardFingerprintKey) => new(cardFingerprintKey);

    /// <summary>The format 1 sealer (tag and id only), whose ids carry no creating call.</summary>
    public IdSeal V1 { get; }

    /// <summary>
    /// The sealed id of <paramref name="id"/> (at most <see cref="TaskBindings.MaxIdBytes"/>) for <paramref name="caller"/>
    /// on <paramref name="upstream"/>, carrying <paramref name="call"/> (null: none). Allocates the id: once per binding
    /// (TaskBinding.SealedId keeps it).
    /// </summary>
    public byte[] Seal(ReadOnlySpan<byte> id, TaskCreatingCall? call, Principal caller, string upstream)
    {
        byte[] rented = ArrayPool<byte>.Shared.Rent(MaxRaw);
        try
        {
            Span<byte> raw = rented;
            BinaryPrimitives.WriteUInt16BigEndian(raw[NonceLength..], (ushort)id.Length);
            id.CopyTo(raw[(NonceLength + IdLengthBytes)..]);
            int at = NonceLength + IdLengthBytes + id.Length;
            Span<byte> plaintext = raw.Slice(at, SealedTaskPlaintext.MaxLength);
            int n = SealedTaskPlaintext.Write(call, plaintext);
            Crypt(caller, upstream, id, plaintext[..n], raw[..NonceLength], raw.Slice(at + n, TagLength), plaintext[..n], encrypt: true);
            int length = at + n + TagLength;
            byte[] sealedId = new byte[Prefix.Length + Base64Url.GetEncodedLength(length)];
            Prefix.CopyTo(sealedId);
            Base64Url.EncodeToUtf8(raw[..length], sealedId.AsSpan(Prefix.Length));
            return sealedId;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(rented);
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>
    /// Opens <paramref name="sealedId"/> for <paramref name="caller"/> on <paramref name="upstream"/> into
    /// <paramref name="opened"/> (at least <see cref="MaxOpenedLength"/> bytes): the task id at <paramref name="id"/>, the
    /// creating call's plaintext at <paramref name="call"/> (empty for a format 1 id, then <paramref name="v1"/>). False
    /// for anything else (no prefix, not base64url without padding, too short or long, another caller's or upstream's,
    /// tampered). Allocates nothing but on a tampered format 2 id (the cipher's exception, on the way to a refusal).
    /// </summary>
    public bool Open(ReadOnlySpan<byte> sealedId, Principal caller, string upstream, Span<byte> opened, out Range id, out Range call, out bool v1)
    {
        id = call = default;
        v1 = false;
        if (sealedId.StartsWith(V1.Prefix))
        {
            // Longer than the format 1 id of the longest task id bound: refused before it is decoded.
            if (sealedId.Length > V1.SealedLength(TaskBindings.MaxIdBytes)) return false;
            int length = V1.Open(sealedId, caller, upstream, opened);
            if (length <= 0 || length > TaskBindings.MaxIdBytes) return false;
            v1 = true;
            id = new Range(0, length);
            call = new Range(length, length);
            return true;
        }
        if (!sealedId.StartsWith(Prefix) || sealedId.Length > MaxSealedLength) return false;
        ReadOnlySpan<byte> encoded = sealedId[Prefix.Length..];
        // Only the unpadded alphabet is a sealed id: the decoder would also take padding and whitespace.
        if (encoded.ContainsAnyExcept(Base64UrlAlphabet)) return false;
        int max = Base64Url.GetMaxDecodedLength(encoded.Length);
        byte[]? rented = max > StackBytes ? ArrayPool<byte>.Shared.Rent(max) : null;
        try
        {
            Span<byte> raw = (rented ?? stackalloc byte[StackBytes])[..max];
            if (Base64Url.DecodeFromUtf8(encoded, raw, out _, out int written) != OperationStatus.Done
                || written < NonceLength + IdLengthBytes + 1 + TagLength) return false;
            int t = BinaryPrimitives.ReadUInt16BigEndian(raw[NonceLength..]);
            int n = written - NonceLength - IdLengthBytes - t - TagLength;
            if (t is 0 or > TaskBindings.MaxIdBytes || n <= 0 || n > SealedTaskPlaintext.MaxLength) return false;
            ReadOnlySpan<byte> taskId = raw.Slice(NonceLength + IdLengthBytes, t);
            int at = NonceLength + IdLengthBytes + t;
            try
            {
                Crypt(caller, upstream, taskId, raw.Slice(at, n), raw[..NonceLength], raw.Slice(at + n, TagLength), opened.Slice(t, n), encrypt: false);
            }
            catch (AuthenticationTagMismatchException)
            {
                return false;
            }
            if (!SealedTaskPlaintext.IsWellFormed(opened.Slice(t, n))) return false;
            taskId.CopyTo(opened);
            id = new Range(0, t);
            call = new Range(t, t + n);
            return true;
        }
        finally
        {
            if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private static readonly SearchValues<byte> Base64UrlAlphabet =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"u8);

    /// <summary>
    /// Encrypts <paramref name="input"/> (the plaintext) into <paramref name="output"/> (the same span or a disjoint one),
    /// deriving the nonce, or decrypts <paramref name="input"/> (the ciphertext) into <paramref name="output"/>, under the
    /// associated data A = the length-prefixed issuer, subject, upstream name and task id (each length 4 bytes big-endian).
    /// </summary>
    private void Crypt(Principal caller, string upstream, ReadOnlySpan<byte> taskId, ReadOnlySpan<byte> input, Span<byte> nonce, Span<byte> tag, Span<byte> output,
        bool encrypt)
    {
        int length = SealBinding.Length(caller, upstream, taskId);
        byte[]? rented = length > StackBytes ? ArrayPool<byte>.Shared.Rent(length) : null;
        try
        {
            Span<byte> associated = (rented ?? stackalloc byte[StackBytes])[..length];
            SealBinding.Write(caller, upstream, taskId, associated);
            if (!encrypt)
            {
                _cipher.Value!.Decrypt(nonce, input, tag, output, associated);
                return;
            }
            // N = the first 12 bytes of HMAC-SHA-256(nonce key, A ‖ P): the same task and call give the same sealed id.
            using (var mac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, _nonceKey))
            {
                mac.AppendData(associated);
                mac.AppendData(input);
                Span<byte> digest = stackalloc byte[32];
                mac.GetHashAndReset(digest);
                digest[..NonceLength].CopyTo(nonce);
            }
            _cipher.Value!.Encrypt(nonce, input, output, tag, associated);
        }
        finally
        {
            if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        }
    }
}
