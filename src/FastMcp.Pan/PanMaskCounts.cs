namespace FastMcp.Pan;

/// <summary>
/// Per-request tally of masked card numbers by brand: a sink later stages (policy, audit) read after masking.
/// A plain struct so that counting allocates nothing; pass it by ref to <see cref="PanMasker.MaskInPlace{TSink}(Span{byte}, ref TSink)"/>.
/// </summary>
public struct PanMaskCounts : IPanFindingSink
{
    private BrandCounts _byBrand;

    /// <summary>Total card numbers seen.</summary>
    public int Total { get; private set; }

    /// <summary>How many card numbers of <paramref name="brand"/> were seen.</summary>
    public readonly int Of(CardBrand brand) => _byBrand[(int)brand];

    /// <summary>Tracks masked after a card number.</summary>
    public int Tracks { get; private set; }

    /// <summary>Security code and PIN member values masked.</summary>
    public int SensitiveMembers { get; private set; }

    public void OnSensitiveData(SensitiveDataKind kind)
    {
        if (kind == SensitiveDataKind.Track) Tracks++;
        else SensitiveMembers++;
    }

    public void OnCardNumber(CardBrand brand, long offset, int length, ReadOnlySpan<byte> fingerprint32)
    {
        _byBrand[(int)brand]++;
        Total++;
    }

    [System.Runtime.CompilerServices.InlineArray(8)]
    private struct BrandCounts
    {
        private int _element;
    }
}
