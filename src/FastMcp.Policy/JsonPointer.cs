using System.Buffers;
using System.Text;
using System.Text.Json;
using FastMcp.Mcp;

namespace FastMcp.Policy;

/// <summary>A compiled RFC 6901 JSON pointer, evaluated by walking a <see cref="Utf8JsonReader"/> (no DOM).</summary>
internal sealed class JsonPointer
{
    private readonly byte[][] _names;
    private readonly int[] _indexes; // array index for each segment, or -1 when it cannot be one
    private readonly byte[][] _folded; // each segment's name as a case-insensitive decoder matches it (MemberNameFold)

    private JsonPointer(string text, byte[][] names, int[] indexes, byte[][] folded)
    {
        Text = text;
        _names = names;
        _indexes = indexes;
        _folded = folded;
    }

    public string Text { get; }

    /// <summary>The pointer "": the whole document, no step.</summary>
    public bool IsWholeDocument => _names.Length == 0;

    /// <summary>The member name the last step looks for (unescaped, UTF-8); empty for the whole document.</summary>
    public ReadOnlySpan<byte> LastName => _names.Length == 0 ? default : _names[^1];

    public static JsonPointer? Parse(string text, out string? error)
    {
        error = null;
        if (text.Length == 0)
            return new JsonPointer(text, [], [], []);
        if (text[0] != '/')
        {
            error = $"'{text}' must be empty or start with '/'";
            return null;
        }
        string[] parts = text[1..].Split('/');
        var names = new byte[parts.Length][];
        var indexes = new int[parts.Length];
        var folded = new byte[parts.Length][];
        for (int i = 0; i < parts.Length; i++)
        {
            string part = parts[i];
            for (int c = 0; c < part.Length; c++)
            {
                if (part[c] == '~' && (c + 1 >= part.Length || part[c + 1] is not ('0' or '1')))
                {
                    error = $"'{text}' has '~' not followed by 0 or 1";
                    return null;
                }
            }
            string unescaped = part.Replace("~1", "/").Replace("~0", "~");
            names[i] = Encoding.UTF8.GetBytes(unescaped);
            indexes[i] = IsArrayIndex(unescaped, out int index) ? index : -1;
            // A fold is at most 3 bytes for every 2 (U+023A, 2 bytes, folds to U+2C65, 3).
            var buffer = new byte[names[i].Length * 2];
            if (!MemberNameFold.TryFold(names[i], buffer, out int written))
            {
                // No decoder is known to read such a name as written, and the gateway refuses messages naming one.
                error = $"'{text}' names a member holding a control character (U+0000-U+001F, U+007F)";
                return null;
            }
            folded[i] = buffer[..written];
        }
        return new JsonPointer(text, names, indexes, folded);
    }

    private static bool IsArrayIndex(string s, out int index)
    {
        index = -1;
        if (s.Length == 0 || s.Length > 9 || (s.Length > 1 && s[0] == '0'))
            return false;
        foreach (char c in s)
            if (!char.IsAsciiDigit(c))
                return false;
        index = int.Parse(s, System.Globalization.CultureInfo.InvariantCulture);
        return true;
    }

    /// <summary>
    /// Positions <paramref name="reader"/> (fresh over <paramref name="json"/>, before the first token) on the value the
    /// pointer designates. A step that matches no member exactly is looked at again for a case variant
    /// (<see cref="PointerLookup.CaseVariant"/>); a step that matches exactly costs what it always did.
    /// </summary>
    public PointerLookup Locate(ReadOnlySpan<byte> json, ref Utf8JsonReader reader)
    {
        if (!reader.Read())
            return PointerLookup.Missing;
        for (int s = 0; s < _names.Length; s++)
        {
            if (!TryStep(ref reader, s, out bool missedInObject))
                return missedInObject && HasCaseVariant(json, reader.CurrentState.Options, s) ? PointerLookup.CaseVariant : PointerLookup.Missing;
        }
        return PointerLookup.Found;
    }

    /// <summary>Moves from the value of step <paramref name="s"/>'s parent onto the member or element it names.</summary>
    private bool TryStep(ref Utf8JsonReader reader, int s, out bool missedInObject)
    {
        missedInObject = false;
        if (reader.TokenType == JsonTokenType.StartObject)
        {
            while (true)
            {
                if (!reader.Read() || reader.TokenType != JsonTokenType.PropertyName)
                {
                    missedInObject = true;
                    return false;
                }
                bool hit = reader.ValueTextEquals(_names[s]);
                reader.Read();
                if (hit)
                    return true;
                reader.Skip();
            }
        }
        if (reader.TokenType == JsonTokenType.StartArray)
        {
            int wanted = _indexes[s];
            if (wanted < 0)
                return false;
            for (int i = 0; ; i++)
            {
                if (!reader.Read() || reader.TokenType == JsonTokenType.EndArray)
                    return false;
                if (i == wanted)
                    return true;
                reader.Skip();
            }
        }
        return false;
    }

    /// <summary>
    /// Walks <paramref name="json"/> again to the object where step <paramref name="step"/> found no exact member (the
    /// steps before it matched, and match the same bytes again) and looks there for a member whose fold is the step's.
    /// Only a missed step pays for this; nothing is allocated.
    /// </summary>
    private bool HasCaseVariant(ReadOnlySpan<byte> json, JsonReaderOptions options, int step)
    {
        var reader = new Utf8JsonReader(json, options);
        reader.Read();
        for (int s = 0; s < step; s++)
            TryStep(ref reader, s, out _);
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (MayReadAs(ref reader, _folded[step]))
                return true;
            reader.Read();
            reader.Skip();
        }
        return false;
    }

    // Escaped names up to this many bytes are unescaped on the stack; longer ones into a pooled buffer.
    private const int StackUnescapeLimit = 512;

    [System.Runtime.CompilerServices.SkipLocalsInit]
    private static bool MayReadAs(ref Utf8JsonReader reader, byte[] folded)
    {
        if (!reader.ValueIsEscaped)
            return MemberNameFold.MayReadAs(reader.ValueSpan, folded);
        int length = reader.ValueSpan.Length;
        byte[]? rented = null;
        try
        {
            // Unescaped text is never longer than the escaped token.
            Span<byte> buffer = length <= StackUnescapeLimit ? stackalloc byte[StackUnescapeLimit] : (rented = ArrayPool<byte>.Shared.Rent(length));
            return MemberNameFold.MayReadAs(buffer[..reader.CopyString(buffer)], folded);
        }
        finally
        {
            if (rented is not null)
                ArrayPool<byte>.Shared.Return(rented);
        }
    }
}
