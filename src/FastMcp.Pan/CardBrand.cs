namespace FastMcp.Pan;

/// <summary>The payment card brands whose IIN ranges and lengths the scanner recognises.</summary>
public enum CardBrand : byte
{
    Visa,
    Mastercard,
    Amex,
    Discover,
    Jcb,
    DinersClub,
    UnionPay,
    Maestro,
}
