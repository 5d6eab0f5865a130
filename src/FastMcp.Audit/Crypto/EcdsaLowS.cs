using System.Numerics;

namespace FastMcp.Audit.Crypto;

/// <summary>
/// ECDSA signature malleability: (r, s) and (r, n - s) both verify. The next segment's header
/// hashes the seal note including its signature, so the writer picks one form, s &lt;= n/2 (low-s),
/// and verifiers of v2 notes reject the other.
/// </summary>
public static class EcdsaLowS
{
    /// <summary>Order n of the P-256 base point.</summary>
    private static readonly BigInteger Order = BigInteger.Parse("0FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551", System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture);
    private static readonly BigInteger HalfOrder = Order >> 1;

    /// <summary>True when the P1363 signature's s is at most n/2.</summary>
    public static bool IsLowS(ReadOnlySpan<byte> signature) =>
        signature.Length == AuditPublicKey.SignatureSize && S(signature) <= HalfOrder;

    /// <summary>Replaces s by n - s in place when s &gt; n/2.</summary>
    public static void Normalize(Span<byte> signature)
    {
        if (signature.Length != AuditPublicKey.SignatureSize) throw new ArgumentException("expected a 64-byte r || s signature", nameof(signature));
        BigInteger s = S(signature);
        if (s <= HalfOrder) return;
        Span<byte> half = signature[32..];
        half.Clear();
        BigInteger low = Order - s;
        int length = low.GetByteCount(isUnsigned: true);
        if (!low.TryWriteBytes(half[(32 - length)..], out _, isUnsigned: true, isBigEndian: true))
            throw new InvalidOperationException("s does not fit 32 bytes");
    }

    private static BigInteger S(ReadOnlySpan<byte> signature) => new(signature[32..], isUnsigned: true, isBigEndian: true);
}
