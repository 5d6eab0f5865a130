using FastMcp.Pan;

namespace FastMcp.Gateway.Stages;

/// <summary>
/// What the PAN scanner found in one exchange: counts, and the first fingerprints for the audit
/// record, in a buffer the connection owns (no allocation per find).
/// </summary>
internal struct CardFindings : IPanFindingSink
{
    public const int MaxFingerprints = 16;
    private byte[]? _fingerprints;
    private int _stored;

    public int Count { get; private set; }

    /// <summary>Sensitive authentication data masked whole (tracks, security code and PIN members).</summary>
    public int Sensitive { get; private set; }
    public readonly int StoredFingerprints => _stored;

    public void Reset()
    {
        Count = 0;
        Sensitive = 0;
        _stored = 0;
    }

    public readonly ReadOnlySpan<byte> Fingerprint(int index) => _fingerprints.AsSpan(index * PanMasker.FingerprintLength, PanMasker.FingerprintLength);

    public void OnSensitiveData(SensitiveDataKind kind)
    {
        Sensitive++;
        SensitiveDataCounters.Add(kind);
    }

    public void OnCardNumber(CardBrand brand, long offset, int length, ReadOnlySpan<byte> fingerprint32)
    {
        Count++;
        if (fingerprint32.IsEmpty || _stored >= MaxFingerprints) return;
        _fingerprints ??= new byte[MaxFingerprints * PanMasker.FingerprintLength];
        // The same card seen twice in one exchange is recorded once.
        for (int i = 0; i < _stored; i++)
        {
            if (Fingerprint(i).SequenceEqual(fingerprint32)) return;
        }
        fingerprint32.CopyTo(_fingerprints.AsSpan(_stored * PanMasker.FingerprintLength));
        _stored++;
    }
}
