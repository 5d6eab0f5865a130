namespace FastMcp.Pan.Tests;

/// <summary>
/// An independent, deliberately plain restatement of the brand table and Luhn, used to generate valid card numbers
/// and to decide what a random digit run should be.
/// </summary>
internal static class ReferenceCards
{
    public sealed record BrandRule(CardBrand Brand, string[] Prefixes, int[] Lengths);

    public static readonly BrandRule[] Rules =
    [
        new(CardBrand.Visa, ["4"], [13, 16, 19]),
        new(CardBrand.Mastercard, ["51", "52", "53", "54", "55", "2221", "2500", "2720"], [16]),
        new(CardBrand.Amex, ["34", "37"], [15]),
        new(CardBrand.Discover, ["6011", "644", "649", "65", "622126", "622925"], [16, 17, 18, 19]),
        new(CardBrand.Jcb, ["3528", "3560", "3589"], [16, 17, 18, 19]),
        new(CardBrand.DinersClub, ["300", "305", "3095", "36", "38", "39"], [14, 15, 16, 17, 18, 19]),
        new(CardBrand.UnionPay, ["620", "621", "624", "628", "629"], [16, 17, 18, 19]),
        new(CardBrand.Maestro, ["5018", "5020", "5038", "5893", "6304", "6759", "6761", "6762", "6763"], [12, 13, 14, 15, 16, 17, 18, 19]),
    ];

    public static int LuhnSum(string digits)
    {
        int sum = 0;
        for (int i = 0; i < digits.Length; i++)
        {
            int d = digits[digits.Length - 1 - i] - '0';
            if (i % 2 == 1) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
            sum += d;
        }
        return sum % 10;
    }

    /// <summary>Prefix + filler digits + the Luhn check digit, <paramref name="length"/> digits in all.</summary>
    public static string Make(string prefix, int length, int[] filler)
    {
        var chars = new char[length];
        for (int i = 0; i < length - 1; i++) chars[i] = i < prefix.Length ? prefix[i] : (char)('0' + filler[i % filler.Length]);
        chars[length - 1] = '0';
        string partial = new(chars);
        int check = (10 - LuhnSum(partial)) % 10;
        chars[length - 1] = (char)('0' + check);
        return new string(chars);
    }

    /// <summary>Whether a digit string, standing alone, is a card number of a recognised brand.</summary>
    public static bool IsCard(string digits)
    {
        if (digits.Length is < 12 or > 19 || LuhnSum(digits) != 0) return false;
        long p6 = long.Parse(digits[..6]);
        long p4 = p6 / 100, p3 = p6 / 1000, p2 = p6 / 10000;
        int n = digits.Length;
        if (digits[0] == '4') return n is 13 or 16 or 19;
        if (p2 is >= 51 and <= 55 || p4 is >= 2221 and <= 2720) return n == 16;
        if (p2 is 34 or 37) return n == 15;
        if (p4 == 6011 || p3 is >= 644 and <= 649 || p2 == 65 || p6 is >= 622126 and <= 622925) return n >= 16;
        if (p4 is >= 3528 and <= 3589) return n >= 16;
        if (p3 is >= 300 and <= 305 || p4 == 3095 || p2 is 36 or 38 or 39) return n >= 14;
        if (p2 == 62) return n >= 16;
        return p4 is 5018 or 5020 or 5038 or 5893 or 6304 or 6759 or 6761 or 6762 or 6763;
    }

    /// <summary>The brands' usual grouping for a length, or null.</summary>
    public static int[]? Grouping(CardBrand brand, int length) => (brand, length) switch
    {
        (CardBrand.Amex, 15) => [4, 6, 5],
        (CardBrand.DinersClub, 14) => [4, 6, 4],
        (_, 12) => [4, 4, 4],
        (_, 13) => [4, 4, 4, 1],
        (_, 16) => [4, 4, 4, 4],
        (_, 17) => [4, 4, 4, 4, 1],
        (_, 18) => [4, 4, 4, 4, 2],
        (_, 19) => [4, 4, 4, 4, 3],
        _ => null,
    };
}
