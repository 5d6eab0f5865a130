namespace FastMcp.Identity;

/// <summary>A copy of <see cref="SenderEvidence"/> for a token's first verification, which awaits key lookups: the
/// request's buffers are only borrowed for the synchronous part. Made only on a cache miss.</summary>
internal sealed class PendingEvidence(in SenderEvidence evidence)
{
    private readonly byte[] _certificate = evidence.CertificateSha256.ToArray();
    private readonly byte[] _proof = evidence.DpopProof.ToArray();
    private readonly int _proofCount = evidence.DpopFieldCount;
    private readonly byte[] _method = evidence.Method.ToArray();
    private readonly byte[] _path = evidence.Path.ToArray();
    private readonly string? _origin = evidence.Origin;
    private readonly bool _proofCheckedEarlier = evidence.ProofCheckedEarlier;

    public SenderEvidence Evidence => new()
    {
        CertificateSha256 = _certificate,
        DpopProof = _proof,
        DpopFieldCount = _proofCount,
        Method = _method,
        Path = _path,
        Origin = _origin,
        ProofCheckedEarlier = _proofCheckedEarlier,
    };
}
