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
    /// A Default_Ignorable_Code_Point character (ZERO WIDTH SPACE, SOFT HYPHEN, a bidi mark, a tag character, see
    /// <see cref="DefaultIgnorables"/>): invisible, so it neither ends a number nor separates groups. Only ever the kind
    /// of a decoded character.
    /// </summary>
    Ignorable,
    /// <summary>
    /// Lead byte of a UTF-8 character that may be a digit, separator or invisible character: 0xE3 or 0xEF (fullwidth forms, see
    /// <see cref="FullwidthForms"/>), 0xD9, 0xDB or 0xE0 (Arabic-Indic, Persian, Devanagari digits, see
    /// <see cref="ArabicIndicAndDevanagariDigits"/>), 0xC2 or 0xE2 (no-break and typographic spaces, see
    /// <see cref="NoBreakAndTypographicSpaces"/>), and 0xCD, 0xD8, 0xE1, 0xF0 or 0xF3 (invisible characters, see
    /// <see cref="DefaultIgnorables"/>, which share 0xC2, 0xE2, 0xE3 and 0xEF too): decode it. Never the kind of a
    /// decoded character.
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
        // 0xC2 (no-break space, soft hyphen), 0xCD (U+034F), 0xD8 (U+061C), 0xD9, 0xDB (Arabic-Indic and Persian
        // digits), 0xE0 (Devanagari digits), 0xE1 (U+115F..180F), 0xE2 (figure, thin and narrow no-break spaces, zero
        // width and bidi characters), 0xE3 (ideographic space, U+3164), 0xEF (fullwidth digits and hyphen-minus,
        // variation selectors, byte order mark), 0xF0 and 0xF3 (U+1BCA0.., U+1D173.., tag characters), which are decoded
        0,0,0,0,0,0,0,0, 0,0,0,0,0,0,0,0, 0,0,0,0,0,0,0,0, 0,0,0,0,0,0,0,0,
        0,0,0,0,0,0,0,0, 0,0,0,0,0,0,0,0, 0,0,0,0,0,0,0,0, 0,0,0,0,0,0,0,0,
        // 0xC0-0xDF (0xC2, 0xCD, 0xD8, 0xD9 and 0xDB: wide leads)
        0,0,10,0,0,0,0,0, 0,0,0,0,0,10,0,0, 0,0,0,0,0,0,0,0, 10,10,0,10,0,0,0,0,
        // 0xE0-0xFF (0xE0, 0xE1, 0xE2, 0xE3, 0xEF, 0xF0 and 0xF3: wide leads)
        10,10,10,10,0,0,0,0, 0,0,0,0,0,0,0,10, 10,0,0,10,0,0,0,0, 0,0,0,0,0,0,0,0,
    ];

    public static CharKind Of(byte b) => (CharKind)Table[b];

    /// <summary>JSON insignificant whitespace.</summary>
    public static bool IsJsonWhitespace(byte b) => b is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r';
}
