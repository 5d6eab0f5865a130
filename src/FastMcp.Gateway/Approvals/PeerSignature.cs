using System.Security.Cryptography;
using System.Text;

namespace FastMcp.Gateway.Approvals;

/// <summary>
/// The MACs of the approval peer protocol (docs/approvals.md, "Peer protocol"): HMAC-SHA-256 under
/// K = HMAC-SHA-256(card fingerprint key, "fastmcp approval peers v1"), a label of its own so a peer MAC is never a
/// seal tag, a cookie MAC or a card fingerprint. A request is MACed over its method, path, timestamp, nonce, the
/// sender's instance id and body; the answer over the request's nonce, the responder's instance id, the status and
/// body, so an answer is believed only for the request it was made for, and only from a holder of the key.
/// </summary>
internal sealed class PeerSignature
{
    private const string Version = "v1=";
    private readonly byte[] _key;

    public PeerSignature(byte[] cardFingerprintKey) => _key = HMACSHA256.HashData(cardFingerprintKey, "fastmcp approval peers v1"u8);

    public string SignRequest(string path, long timestamp, string nonce, string instance, ReadOnlySpan<byte> body) =>
        Version + Convert.ToHexStringLower(Mac(RequestText(path, timestamp, nonce, instance), body));

    public bool VerifyRequest(string path, long timestamp, string nonce, string instance, ReadOnlySpan<byte> body, ReadOnlySpan<char> signature) =>
        Matches(Mac(RequestText(path, timestamp, nonce, instance), body), signature);

    public string SignResponse(string nonce, string instance, int status, ReadOnlySpan<byte> body) =>
        Version + Convert.ToHexStringLower(Mac(ResponseText(nonce, instance, status), body));

    public bool VerifyResponse(string nonce, string instance, int status, ReadOnlySpan<byte> body, ReadOnlySpan<char> signature) =>
        Matches(Mac(ResponseText(nonce, instance, status), body), signature);

    private static string RequestText(string path, long timestamp, string nonce, string instance) =>
        $"fastmcp peer request v1\nPOST\n{path}\n{timestamp}\n{nonce}\n{instance}\n";

    private static string ResponseText(string nonce, string instance, int status) => $"fastmcp peer response v1\n{nonce}\n{instance}\n{status}\n";

    private byte[] Mac(string head, ReadOnlySpan<byte> body)
    {
        using var hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, _key);
        hmac.AppendData(Encoding.UTF8.GetBytes(head));
        hmac.AppendData(body);
        return hmac.GetHashAndReset();
    }

    private static bool Matches(byte[] expected, ReadOnlySpan<char> signature)
    {
        if (!signature.StartsWith(Version, StringComparison.Ordinal) || signature.Length != Version.Length + 64) return false;
        Span<byte> given = stackalloc byte[32];
        if (Convert.FromHexString(signature[Version.Length..], given, out _, out int written) != System.Buffers.OperationStatus.Done || written != 32) return false;
        return CryptographicOperations.FixedTimeEquals(expected, given);
    }
}
