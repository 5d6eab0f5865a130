using System.Text;

namespace FastMcp.Pan.Tests;

internal static class TestKeys
{
    public static readonly byte[] Key = Encoding.ASCII.GetBytes("test-fingerprint-key-0123456789");

    public static PanMasker Masker(int keepFirst = 6, int keepLast = 4) =>
        new(new PanMaskingOptions { KeepFirst = keepFirst, KeepLast = keepLast, FingerprintKey = Key });

    public static string Mask(string text, int keepFirst = 6)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        Masker(keepFirst).MaskInPlace(bytes);
        return Encoding.UTF8.GetString(bytes);
    }
}
