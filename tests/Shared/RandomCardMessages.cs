using System.Text;

namespace FastMcp.Testing;

/// <summary>
/// Random JSON messages built from the card-number forms docs/pan-detection.md names (plain, grouped, escaped, fullwidth,
/// Arabic-Indic, no-break spaces, invisible characters, tracks, runs cut at the invisible characters' bound, base64
/// payloads, bare numbers) and the look-alikes it does not flag, nested in objects and arrays. Every message is valid
/// JSON. For differential tests: a reading that shares one scan against the reading that scans each part itself.
/// </summary>
public static class RandomCardMessages
{
    private const string Zwsp = "\u200B";

    /// <summary>String contents, JSON-escaped as they appear between quotes.</summary>
    private static readonly string[] Strings =
    [
        "", "x", "hello", "order 12345", "1234", "4111111111111111", "4111 1111 1111 1111", "4111-1111-1111-1111",
        "card 5555555555554444 end", "3782 822463 10005", "\\u0034111111111111111", "\\u00341\\u00311111111111111",
        "４１１１１１１１１１１１１１１１", "４１１１ １１１１ １１１１ １１１１", "٤١١١١١١١١١١١١١١١", "۴۱۱۱۱۱۱۱۱۱۱۱۱۱۱۱",
        "4111\u00A01111\u00A01111\u00A01111", "4111\\u00a01111\\u00A01111\\u00a01111", "4111" + Zwsp + "1111" + Zwsp + "1111" + Zwsp + "1111",
        "4111\\u200b1111\\u200B1111\\u200b1111", ";4111111111111111=28121010000012345678?", "%B4111111111111111^DOE/JOHN^2812101000001234000000?",
        "ORD4111111111111111", "4111111111111111abc", "4111111111111112", "0.4111111111111111", "+6281234567899",
        "41111111-1111-1111-1111-111111111111", "\\n4111111111111111", "\\\\u0034111111111111111", "\\\"4111111111111111\\\"",
        "4111  1111  1111  1111", "4111 1111 1111 11111", "1700000000000", "20241115123045", "ORD" + Zwsp + "4111111111111111",
        "4111 1111 1111 " + string.Concat(Enumerable.Repeat(Zwsp, 120)) + "1111 now", "pay 4111 1111 1111", "1111 1111",
        "４１１１" + Zwsp + "\u3000١١١١\u00AD-1111 1111", "\\ud83d\\ude00 4111111111111111", "é4111111111111111",
    ];

    /// <summary>Bare JSON numbers.</summary>
    private static readonly string[] Numbers =
    [
        "0", "1042", "4111111111111111", "-4111111111111111", "4111111111111111.5", "4111111111111111e3", "5555555555554444",
        "41111111111111111111", "1.5", "-0.4111111111111111",
    ];

    /// <summary>Member names, some of them payload (blob/data) and sensitive (cvv, pin) names, one escaped.</summary>
    private static readonly string[] Names = ["a", "note", "text", "account", "data", "blob", "Data", "cvv", "pin", "x\\u0041", "items", "4111111111111111"];

    /// <summary>The strings and names with no escape, payload or sensitive member: messages masking has only text to read in.</summary>
    private static readonly string[] PlainStrings = [.. Strings.Where(s => !s.Contains('\\'))];
    private static readonly string[] PlainNames = [.. Names.Where(n => !n.Contains('\\') && n is not ("data" or "blob" or "Data" or "cvv" or "pin"))];

    /// <summary>Base64 payloads: one decoding to text with a card number, one without.</summary>
    private static readonly string[] Payloads =
    [
        Convert.ToBase64String(Encoding.UTF8.GetBytes("name,card\nalice,4111 1111 1111 1111\n")),
        Convert.ToBase64String(Encoding.UTF8.GetBytes("name,order\nalice,12345 and nothing else\n")),
    ];

    /// <summary>
    /// One random JSON value (an object at the top when <paramref name="depth"/> is 0). <paramref name="plain"/>: without
    /// escapes, blob/data payloads or sensitive members.
    /// </summary>
    public static string Value(Random random, int depth = 0, bool plain = false)
    {
        var sb = new StringBuilder();
        if (depth == 0) Object(random, sb, 0, plain);
        else AppendValue(random, sb, depth, plain);
        return sb.ToString();
    }

    /// <summary>A tools/call request with random arguments; <paramref name="argumentsOffset"/> is where they start.</summary>
    public static string ToolCall(Random random, out string arguments, out int argumentsOffset, bool plain = false)
    {
        arguments = Value(random, 0, plain);
        string meta = random.Next(3) == 0 ? ",\"_meta\":" + Value(random, 0, plain) : "";
        const string Head = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"echo\",\"arguments\":";
        argumentsOffset = Encoding.UTF8.GetByteCount(Head);
        return Head + arguments + meta + "}}";
    }

    private static void AppendValue(Random random, StringBuilder sb, int depth, bool plain)
    {
        int pick = random.Next(depth >= 4 ? 7 : 10);
        switch (pick)
        {
            case < 4: String(random, sb, plain); break;
            case 4: sb.Append(Numbers[random.Next(Numbers.Length)]); break;
            case 5 when !plain: sb.Append('"').Append(Payloads[random.Next(Payloads.Length)]).Append('"'); break;
            case 5: String(random, sb, plain); break;
            case 6: sb.Append(random.Next(3) switch { 0 => "true", 1 => "false", _ => "null" }); break;
            case < 9: Object(random, sb, depth, plain); break;
            default: Array(random, sb, depth, plain); break;
        }
    }

    private static void String(Random random, StringBuilder sb, bool plain)
    {
        string[] strings = plain ? PlainStrings : Strings;
        sb.Append('"');
        int parts = random.Next(1, 4);
        for (int i = 0; i < parts; i++)
        {
            if (i > 0) sb.Append(random.Next(4) switch { 0 => "", 1 => " ", 2 => "x", _ => ", " });
            sb.Append(strings[random.Next(strings.Length)]);
        }
        sb.Append('"');
    }

    private static void Object(Random random, StringBuilder sb, int depth, bool plain)
    {
        sb.Append('{');
        int members = random.Next(0, 5);
        // Distinct names: a repeated name is a message the gateway refuses before any of this.
        string[] names = [.. plain ? PlainNames : Names];
        random.Shuffle(names);
        for (int i = 0; i < members; i++)
        {
            if (i > 0) sb.Append(',');
            sb.Append('"').Append(names[i]).Append("\":");
            AppendValue(random, sb, depth + 1, plain);
        }
        sb.Append('}');
    }

    private static void Array(Random random, StringBuilder sb, int depth, bool plain)
    {
        sb.Append('[');
        int items = random.Next(0, 5);
        for (int i = 0; i < items; i++)
        {
            if (i > 0) sb.Append(',');
            AppendValue(random, sb, depth + 1, plain);
        }
        sb.Append(']');
    }
}
