namespace FastMcp.Pan.Scanning;

/// <summary>What a (decoded) character means to the card-number state machine.</summary>
internal enum CharKind : byte
{
    /// <summary>Anything that ends a number and does not block the next one: punctuation, quotes, non-ASCII.</summary>
    Other,
    Digit,
    /// <summary>ASCII letter: a number touching one is part of an identifier, not a card number.</summary>
    Letter,
    Space,
    Dash,
    /// <summary>'.' : between digits it makes a decimal fraction, which is never a card number.</summary>
    Dot,
    /// <summary>'+' : a number right after it is an international phone number.</summary>
    Plus,
    /// <summary>'\' : may start a JSON escape that has to be decoded.</summary>
    Backslash,
    /// <summary>An unescaped '"': ends a number like <see cref="Other"/> and toggles "inside a JSON string".</summary>
    Quote,
    /// <summary>
    /// Lead byte of a UTF-8 character that may be a digit or separator: 0xE3 or 0xEF (fullwidth forms, see
    /// <see cref="FullwidthForms"/>), 0xD9, 0xDB or 0xE0 (Arabic-Indic, Persian, Devanagari digits, see
    /// <see cref="ArabicIndicAndDevanagariDigits"/>), 0xC2 or 0xE2 (no-break and typographic spaces, see
    /// <see cref="NoBreakAndTypographicSpaces"/>): decode it. Never the kind of a decoded character.
    /// </summary>
    WideLead,
}

internal static class ByteClass
{
    private static ReadOnlySpan<byte> Table => [
        // 0x00-0x1F control characters
        0,0,0,0,0,0,0,0, 0,0,0,0,0,0,0,0, 0,0,0,0,0,0,0,0, 0,0,0,0,0,0,0,0,
        // ' ' ! " # $ % & ' ( ) * + , - . /
        3,0,8,0,0,0,0,0, 0,0,0,6,0,4,5,0,
        // 0-9 : ; < = > ?
        1,1,1,1,1,1,1,1, 1,1,0,0,0,0,0,0,
        // @ A-O
        0,2,2,2,2,2,2,2, 2,2,2,2,2,2,2,2,
        // P-Z [ \ ] ^ _
        2,2,2,2,2,2,2,2, 2,2,2,0,7,0,0,0,
        // ` a-o
        0,2,2,2,2,2,2,2, 2,2,2,2,2,2,2,2,
        // p-z { | } ~ DEL
        2,2,2,2,2,2,2,2, 2,2,2,0,0,0,0,0,
        // 0x80-0xFF: UTF-8 lead and continuation bytes (and invalid ones) are "other", except the lead bytes
        // 0xC2 (no-break space), 0xD9, 0xDB (Arabic-Indic and Persian digits), 0xE0 (Devanagari digits), 0xE2
        // (figure, thin and narrow no-break spaces), 0xE3 (ideographic space) and 0xEF (fullwidth digits and
        // hyphen-minus), which are decoded
        0,0,0,0,0,0,0,0, 0,0,0,0,0,0,0,0, 0,0,0,0,0,0,0,0, 0,0,0,0,0,0,0,0,
        0,0,0,0,0,0,0,0, 0,0,0,0,0,0,0,0, 0,0,0,0,0,0,0,0, 0,0,0,0,0,0,0,0,
        // 0xC0-0xDF (0xC2, 0xD9 and 0xDB: wide leads)
        0,0,9,0,0,0,0,0, 0,0,0,0,0,0,0,0, 0,0,0,0,0,0,0,0, 0,9,0,9,0,0,0,0,
        // 0xE0-0xFF (0xE0, 0xE2, 0xE3 and 0xEF: wide leads)
        9,0,9,9,0,0,0,0, 0,0,0,0,0,0,0,9, 0,0,0,0,0,0,0,0, 0,0,0,0,0,0,0,0,
    ];

    public static CharKind Of(byte b) => (CharKind)Table[b];

    /// <summary>JSON insignificant whitespace.</summary>
    public static bool IsJsonWhitespace(byte b) => b is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r';
}
