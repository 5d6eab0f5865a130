using System.Text;

namespace FastMcp.Policy;

/// <summary>
/// A compiled glob over UTF-8 bytes: '*' matches any run of characters (including '/'), '?' exactly one
/// character, '\' escapes the next character. A pattern without wildcards is an exact comparison.
/// </summary>
internal sealed class Utf8Glob
{
    private const byte Star = (byte)'*', Any = (byte)'?';

    // Pattern with escapes resolved; _wild[i] says whether byte i is a wildcard (not an escaped literal).
    private readonly byte[] _pattern;
    private readonly bool[] _wild;

    private Utf8Glob(string text, byte[] pattern, bool[] wild, bool isExact)
    {
        Text = text;
        _pattern = pattern;
        _wild = wild;
        IsExact = isExact;
    }

    public string Text { get; }
    public bool IsExact { get; }
    /// <summary>The literal bytes when <see cref="IsExact"/>.</summary>
    public byte[] Literal => _pattern;

    public static Utf8Glob Parse(string text, out string? error)
    {
        error = null;
        var bytes = Encoding.UTF8.GetBytes(text);
        var pattern = new List<byte>(bytes.Length);
        var wild = new List<bool>(bytes.Length);
        bool exact = true;
        for (int i = 0; i < bytes.Length; i++)
        {
            byte b = bytes[i];
            if (b == (byte)'\\')
            {
                if (i + 1 >= bytes.Length)
                {
                    error = $"'{text}' ends with a lone escape character";
                    break;
                }
                pattern.Add(bytes[++i]);
                wild.Add(false);
                continue;
            }
            bool isWild = b is Star or Any;
            exact &= !isWild;
            pattern.Add(b);
            wild.Add(isWild);
        }
        return new Utf8Glob(text, [.. pattern], [.. wild], exact);
    }

    public bool IsMatch(ReadOnlySpan<byte> input)
    {
        if (IsExact)
            return input.SequenceEqual(_pattern);
        ReadOnlySpan<byte> p = _pattern;
        int pi = 0, ii = 0, starP = -1, starI = 0;
        while (ii < input.Length)
        {
            if (pi < p.Length && _wild[pi] && p[pi] == Star)
            {
                starP = pi++;
                starI = ii;
            }
            else if (pi < p.Length && _wild[pi] && p[pi] == Any)
            {
                pi++;
                ii += ScalarLength(input[ii]);
            }
            else if (pi < p.Length && p[pi] == input[ii])
            {
                pi++;
                ii++;
            }
            else if (starP >= 0)
            {
                // Let the last star absorb one more character and retry from there.
                pi = starP + 1;
                starI += ScalarLength(input[starI]);
                ii = starI;
            }
            else
            {
                return false;
            }
        }
        if (ii > input.Length)
            return false;
        while (pi < p.Length && _wild[pi] && p[pi] == Star)
            pi++;
        return pi == p.Length;
    }

    // '?' and '*' consume whole UTF-8 sequences so they never split a character.
    private static int ScalarLength(byte lead) => lead switch
    {
        < 0xC0 => 1,
        < 0xE0 => 2,
        < 0xF0 => 3,
        _ => 4,
    };
}
