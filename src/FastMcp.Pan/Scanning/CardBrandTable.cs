namespace FastMcp.Pan.Scanning;

/// <summary>
/// IIN prefix and length rules per brand (see docs/pan-detection.md for sources) plus the Luhn check.
/// Input is always the PAN's ASCII digits, 12 to 19 of them.
/// </summary>
internal static class CardBrandTable
{
    public const int MinLength = 12;
    public const int MaxLength = 19;

    /// <summary>True when a first digit can start any recognised brand: lets callers reject 0, 1, 7, 8, 9 at once.</summary>
    public static bool CanStartBrand(byte firstAsciiDigit) => (uint)(firstAsciiDigit - (byte)'2') <= 4u;

    /// <summary>Brand whose IIN range and length both match, or null. Does not check Luhn.</summary>
    public static CardBrand? Identify(ReadOnlySpan<byte> digits)
    {
        int n = digits.Length;
        if (n < MinLength || n > MaxLength) return null;
        int p6 = Prefix(digits, 6);
        int p4 = p6 / 100;
        int p3 = p6 / 1000;
        int p2 = p6 / 10000;
        switch (digits[0])
        {
            case (byte)'4':
                return n is 13 or 16 or 19 ? CardBrand.Visa : null;
            case (byte)'2':
                return n == 16 && p4 is >= 2221 and <= 2720 ? CardBrand.Mastercard : null;
            case (byte)'5':
                if (p2 is >= 51 and <= 55) return n == 16 ? CardBrand.Mastercard : null;
                if (p4 is 5018 or 5020 or 5038 or 5893) return CardBrand.Maestro;
                return null;
            case (byte)'3':
                if (p2 is 34 or 37) return n == 15 ? CardBrand.Amex : null;
                if (p4 is >= 3528 and <= 3589) return n >= 16 ? CardBrand.Jcb : null;
                if (p3 is >= 300 and <= 305 || p4 == 3095 || p2 is 36 or 38 or 39) return n >= 14 ? CardBrand.DinersClub : null;
                return null;
            case (byte)'6':
                if (p4 == 6011 || p3 is >= 644 and <= 649 || p2 == 65 || p6 is >= 622126 and <= 622925)
                    return n >= 16 ? CardBrand.Discover : null;
                if (p2 == 62) return n >= 16 ? CardBrand.UnionPay : null;
                if (p4 is 6304 or 6759 or 6761 or 6762 or 6763) return CardBrand.Maestro;
                return null;
            default:
                return null;
        }
    }

    /// <summary>Luhn (ISO/IEC 7812-1 annex B) over ASCII digits, check digit last.</summary>
    public static bool LuhnValid(ReadOnlySpan<byte> digits)
    {
        int sum = 0;
        bool doubleIt = false;
        for (int i = digits.Length - 1; i >= 0; i--)
        {
            int d = digits[i] - '0';
            if (doubleIt)
            {
                d += d;
                if (d > 9) d -= 9;
            }
            sum += d;
            doubleIt = !doubleIt;
        }
        return sum % 10 == 0;
    }

    /// <summary>Brand of a card number: IIN and length match and the Luhn check passes.</summary>
    public static CardBrand? Match(ReadOnlySpan<byte> digits)
    {
        if (digits.Length < MinLength || digits.Length > MaxLength || !CanStartBrand(digits[0])) return null;
        CardBrand? brand = Identify(digits);
        return brand is not null && LuhnValid(digits) ? brand : null;
    }

    private static int Prefix(ReadOnlySpan<byte> digits, int count)
    {
        int v = 0;
        for (int i = 0; i < count; i++) v = v * 10 + (digits[i] - '0');
        return v;
    }
}
