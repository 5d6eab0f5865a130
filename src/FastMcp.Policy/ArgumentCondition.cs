using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace FastMcp.Policy;

/// <summary>A compiled argument condition: a pointer and one operator, evaluated over the raw arguments JSON.</summary>
internal sealed class ArgumentCondition
{
    private enum Operator : byte { Equals, In, Regex, Numeric, Exists, ContainsCardNumber, ContainsSensitiveData }

    // Strings up to this many bytes are decoded on the stack for the regex; longer ones use a pooled buffer.
    private const int StackDecodeLimit = 512;

    private static readonly JsonReaderOptions ReaderOptions = new() { CommentHandling = JsonCommentHandling.Disallow, MaxDepth = 64 };

    private readonly JsonPointer _pointer;
    private readonly Operator _op;
    private readonly byte[][] _literals = [];
    private readonly double?[] _literalNumbers = [];
    private readonly Regex? _regex;
    private readonly double _min = double.NegativeInfinity, _max = double.PositiveInfinity;
    private readonly bool _minInclusive, _maxInclusive;
    private readonly bool _expected = true;
    private readonly bool _negate;
    /// <summary>containsSensitiveData: the member names masking blanks (masking.sensitiveMembers in force when compiled).</summary>
    private readonly FastMcp.Pan.SensitiveMemberNames? _sensitiveMembers;
    /// <summary>containsSensitiveData: the pointer's last step is itself such a name, so its value is the code or PIN.</summary>
    private readonly bool _pointerNamesSensitive;

    private ArgumentCondition(JsonPointer pointer, Operator op, bool negate)
    {
        _pointer = pointer;
        _op = op;
        _negate = negate;
    }

    private ArgumentCondition(JsonPointer pointer, bool negate, List<string> literals, Operator op) : this(pointer, op, negate)
    {
        _literals = new byte[literals.Count][];
        _literalNumbers = new double?[literals.Count];
        for (int i = 0; i < literals.Count; i++)
        {
            _literals[i] = Encoding.UTF8.GetBytes(literals[i]);
            _literalNumbers[i] = double.TryParse(literals[i], NumberStyles.Float, CultureInfo.InvariantCulture, out double d) ? d : null;
        }
    }

    private ArgumentCondition(JsonPointer pointer, bool negate, Regex regex) : this(pointer, Operator.Regex, negate) => _regex = regex;

    private ArgumentCondition(JsonPointer pointer, bool negate, double min, bool minInclusive, double max, bool maxInclusive) : this(pointer, Operator.Numeric, negate)
    {
        _min = min;
        _minInclusive = minInclusive;
        _max = max;
        _maxInclusive = maxInclusive;
    }

    private ArgumentCondition(JsonPointer pointer, bool negate, Operator op, bool expected) : this(pointer, op, negate) => _expected = expected;

    private ArgumentCondition(JsonPointer pointer, bool negate, bool expected, FastMcp.Pan.SensitiveMemberNames sensitiveMembers)
        : this(pointer, negate, Operator.ContainsSensitiveData, expected)
    {
        _sensitiveMembers = sensitiveMembers;
        _pointerNamesSensitive = sensitiveMembers.Matches(pointer.LastName);
    }

    /// <summary>
    /// Compiles one condition; errors name the field relative to the rule (e.g. "arguments[2].regex").
    /// <paramref name="sensitiveMembers"/>: the names containsSensitiveData looks for, masking's own list.
    /// </summary>
    public static ArgumentCondition Compile(ArgumentConditionOptions o, string rule, string field, FastMcp.Pan.SensitiveMemberNames sensitiveMembers)
    {
        var pointer = JsonPointer.Parse(o.Pointer ?? "", out string? pointerError)
            ?? throw new PolicyException(rule, field + ".pointer", pointerError!);
        int operators = (o.EqualsValue is not null ? 1 : 0) + (o.In is not null ? 1 : 0) + (o.Regex is not null ? 1 : 0)
            + (o.Exists is not null ? 1 : 0) + (o.ContainsCardNumber is not null ? 1 : 0) + (o.ContainsSensitiveData is not null ? 1 : 0)
            + (o.GreaterThan is not null || o.GreaterThanOrEqual is not null || o.LessThan is not null || o.LessThanOrEqual is not null ? 1 : 0);
        if (operators != 1)
            throw new PolicyException(rule, field, operators == 0
                ? "needs one operator: equals, in, regex, exists, containsCardNumber, containsSensitiveData or a numeric bound"
                : "sets more than one operator; use one condition per operator");
        if (o.EqualsValue is not null)
            return new ArgumentCondition(pointer, o.Negate, [o.EqualsValue], Operator.Equals);
        if (o.In is not null)
        {
            if (o.In.Count == 0)
                throw new PolicyException(rule, field + ".in", "is empty");
            if (o.In.Exists(static v => v is null))
                throw new PolicyException(rule, field + ".in", "contains null");
            return new ArgumentCondition(pointer, o.Negate, o.In, Operator.In);
        }
        if (o.Regex is not null)
        {
            try
            {
                // NonBacktracking: matching time is linear in the input, whatever the pattern (no ReDoS).
                var regex = new Regex(o.Regex, RegexOptions.NonBacktracking | RegexOptions.CultureInvariant);
                return new ArgumentCondition(pointer, o.Negate, regex);
            }
            catch (ArgumentException ex)
            {
                throw new PolicyException(rule, field + ".regex", $"invalid or unsupported regular expression: {FastMcp.Http.PlainError.Describe(ex)}", ex);
            }
            catch (NotSupportedException ex)
            {
                throw new PolicyException(rule, field + ".regex", $"not supported by the non-backtracking engine: {FastMcp.Http.PlainError.Describe(ex)}", ex);
            }
        }
        if (o.Exists is bool exists)
            return new ArgumentCondition(pointer, o.Negate, Operator.Exists, exists);
        if (o.ContainsCardNumber is bool card)
            return new ArgumentCondition(pointer, o.Negate, Operator.ContainsCardNumber, card);
        if (o.ContainsSensitiveData is bool sensitive)
        {
            // With no names it would see track data only: a rule written to refuse security codes would pass every one.
            if (sensitiveMembers.IsEmpty)
                throw new PolicyException(rule, field + ".containsSensitiveData",
                    "masking.sensitiveMembers is empty, so this condition would see track data only and no security code or PIN: name the members (or remove the condition)");
            return new ArgumentCondition(pointer, o.Negate, sensitive, sensitiveMembers);
        }

        if (o.GreaterThan is not null && o.GreaterThanOrEqual is not null)
            throw new PolicyException(rule, field + ".greaterThanOrEqual", "set either greaterThan or greaterThanOrEqual");
        if (o.LessThan is not null && o.LessThanOrEqual is not null)
            throw new PolicyException(rule, field + ".lessThanOrEqual", "set either lessThan or lessThanOrEqual");
        double min = o.GreaterThan ?? o.GreaterThanOrEqual ?? double.NegativeInfinity;
        double max = o.LessThan ?? o.LessThanOrEqual ?? double.PositiveInfinity;
        if (double.IsNaN(min) || double.IsNaN(max))
            throw new PolicyException(rule, field, "numeric bound is NaN");
        if (min > max)
            throw new PolicyException(rule, field, $"empty range: lower bound {min} is above upper bound {max}");
        return new ArgumentCondition(pointer, o.Negate, min, o.GreaterThanOrEqual is not null, max, o.LessThanOrEqual is not null);
    }

    public string Pointer => _pointer.Text;

    /// <summary>
    /// Evaluates over the arguments JSON. Throws <see cref="JsonException"/> on malformed JSON (the engine treats that as a deny).
    /// A number a numeric bound cannot compare (beyond the range of a double, such as 1e999) gives
    /// <paramref name="uncomparableMatches"/>, negated or not: an allow rule passes false (such a number never
    /// satisfies an allow), deny and require_approval rules pass true (it always satisfies them). So does a pointer
    /// that finds, instead of the member it names, one a case-insensitive decoder reads as that member
    /// (<see cref="PointerLookup.CaseVariant"/>), whatever the operator.
    /// </summary>
    /// <paramref name="cards"/>: a scan of the message the arguments are part of, from its byte <paramref name="argumentsOffset"/>
    /// on (null: none, a card number condition scans what it names).
    /// <paramref name="wellFormed"/>: the arguments were read whole as JSON already (<see cref="PolicyRequest.ArgumentsWellFormed"/>).
    public bool Evaluate(ReadOnlySpan<byte> arguments, bool uncomparableMatches = false, FastMcp.Pan.MessageCardScan? cards = null, int argumentsOffset = 0,
        bool wellFormed = false)
    {
        bool result;
        if (arguments.IsEmpty)
        {
            result = _op == Operator.Exists && !_expected;
            return result ^ _negate;
        }
        // The whole arguments, known to be one object or array: the reader would only step over them to find their end, which
        // is theirs (it cannot throw on them), so the subtree is the arguments as they are (issue #14: about half a decision).
        if (wellFormed && _pointer.IsWholeDocument && IsOneContainer(arguments))
        {
            if (_op == Operator.ContainsCardNumber)
                return (CardNumberDetector.ContainsInJson(arguments, cards, argumentsOffset) == _expected) ^ _negate;
            if (_op == Operator.ContainsSensitiveData)
                return (ContainsSensitiveInContainer(arguments) == _expected) ^ _negate;
        }
        var reader = new Utf8JsonReader(arguments, ReaderOptions);
        PointerLookup lookup = _pointer.Locate(arguments, ref reader);
        if (lookup == PointerLookup.CaseVariant)
            return uncomparableMatches;
        bool located = lookup == PointerLookup.Found;
        if (_op == Operator.Exists)
            result = located == _expected;
        else if (located && _op == Operator.Numeric && IsUncomparableNumber(ref reader))
            return uncomparableMatches;
        else
            result = located && Test(ref reader, arguments, cards, argumentsOffset);
        return result ^ _negate;
    }

    /// <summary>A JSON number no double holds: comparing it would answer for a value the upstream does not see.</summary>
    private static bool IsUncomparableNumber(ref Utf8JsonReader reader) =>
        reader.TokenType == JsonTokenType.Number && (!reader.TryGetDouble(out double value) || !double.IsFinite(value));

    private bool Test(ref Utf8JsonReader reader, ReadOnlySpan<byte> arguments, FastMcp.Pan.MessageCardScan? cards, int argumentsOffset)
    {
        switch (_op)
        {
            case Operator.Equals:
            case Operator.In:
                for (int i = 0; i < _literals.Length; i++)
                    if (EqualsLiteral(ref reader, i))
                        return true;
                return false;
            case Operator.Numeric:
                if (reader.TokenType != JsonTokenType.Number || !reader.TryGetDouble(out double value))
                    return false;
                return (_minInclusive ? value >= _min : value > _min) && (_maxInclusive ? value <= _max : value < _max);
            case Operator.Regex:
                return reader.TokenType is JsonTokenType.String or JsonTokenType.Number && MatchesRegex(ref reader);
            case Operator.ContainsCardNumber:
                return ContainsCard(ref reader, arguments, cards, argumentsOffset) == _expected;
            case Operator.ContainsSensitiveData:
                return ContainsSensitive(ref reader, arguments) == _expected;
            default:
                return false;
        }
    }

    private bool EqualsLiteral(ref Utf8JsonReader reader, int i)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.String:
                return reader.ValueTextEquals(_literals[i]);
            case JsonTokenType.Number:
                // 5, 5.0 and 5e0 are the same number.
                if (_literalNumbers[i] is double n && reader.TryGetDouble(out double d))
                    return d == n;
                return reader.ValueSpan.SequenceEqual(_literals[i]);
            case JsonTokenType.True:
            case JsonTokenType.False:
            case JsonTokenType.Null:
                return reader.ValueSpan.SequenceEqual(_literals[i]);
            default:
                return false;
        }
    }

    private bool MatchesRegex(ref Utf8JsonReader reader)
    {
        int maxChars = reader.ValueSpan.Length;
        char[]? rented = null;
        Span<char> buffer = maxChars <= StackDecodeLimit
            ? stackalloc char[StackDecodeLimit]
            : (rented = ArrayPool<char>.Shared.Rent(maxChars));
        try
        {
            int written;
            if (reader.TokenType == JsonTokenType.String)
                written = reader.CopyString(buffer);
            else
                written = Encoding.UTF8.GetChars(reader.ValueSpan, buffer);
            return _regex!.IsMatch(buffer[..written]);
        }
        finally
        {
            if (rented is not null)
                ArrayPool<char>.Shared.Return(rented);
        }
    }

    /// <summary>
    /// What masking would blank as sensitive authentication data: below the pointer, a sensitive member's value or track
    /// data (in the text and in blob/data payloads); the value itself when the pointer names a sensitive member.
    /// </summary>
    private bool ContainsSensitive(ref Utf8JsonReader reader, ReadOnlySpan<byte> arguments)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.StartObject:
            case JsonTokenType.StartArray:
                int start = (int)reader.TokenStartIndex;
                reader.Skip();
                return ContainsSensitiveInContainer(arguments[start..(int)reader.BytesConsumed]);
            case JsonTokenType.Number:
                return _pointerNamesSensitive;
            case JsonTokenType.String:
                if (_pointerNamesSensitive && reader.ValueSpan.Length > 0)
                    return true;
                if (SensitiveDataDetector.ContainsInBase64(reader.ValueSpan))
                    return true;
                if (!reader.ValueIsEscaped)
                    return SensitiveDataDetector.ContainsInText(reader.ValueSpan);
                byte[]? rented = null;
                int length = reader.ValueSpan.Length;
                Span<byte> buffer = length <= StackDecodeLimit ? stackalloc byte[StackDecodeLimit] : (rented = ArrayPool<byte>.Shared.Rent(length));
                try
                {
                    int written = reader.CopyString(buffer);
                    return SensitiveDataDetector.ContainsInText(buffer[..written]);
                }
                finally
                {
                    if (rented is not null)
                        ArrayPool<byte>.Shared.Return(rented);
                }
            default:
                return false;
        }
    }

    /// <summary>containsSensitiveData of an object or array the pointer names (its raw JSON).</summary>
    private bool ContainsSensitiveInContainer(ReadOnlySpan<byte> subtree) =>
        _pointerNamesSensitive && FastMcp.Pan.Payloads.Base64Payloads.WouldMaskAsSensitiveValue(subtree)
        || SensitiveDataDetector.ContainsInJson(_sensitiveMembers!, subtree);

    /// <summary>Starts with '{' or '[' and ends with '}' or ']': well-formed JSON of that shape is one object or array, nothing around it.</summary>
    private static bool IsOneContainer(ReadOnlySpan<byte> json) =>
        json.Length >= 2 && json[0] is (byte)'{' or (byte)'[' && json[^1] is (byte)'}' or (byte)']';

    private static bool ContainsCard(ref Utf8JsonReader reader, ReadOnlySpan<byte> arguments, FastMcp.Pan.MessageCardScan? cards, int argumentsOffset)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.StartObject:
            case JsonTokenType.StartArray:
                // The whole subtree, as raw JSON: a card number anywhere below the pointer counts. The message's one scan
                // answers for it where it can (strings and numbers named directly are read unescaped, so they are scanned).
                int start = (int)reader.TokenStartIndex;
                reader.Skip();
                return CardNumberDetector.ContainsInJson(arguments[start..(int)reader.BytesConsumed], cards, argumentsOffset + start);
            case JsonTokenType.Number:
                return CardNumberDetector.Contains(reader.ValueSpan);
            case JsonTokenType.String:
                if (CardNumberDetector.ContainsInBase64(reader.ValueSpan))
                    return true;
                if (!reader.ValueIsEscaped)
                    return CardNumberDetector.Contains(reader.ValueSpan);
                byte[]? rented = null;
                int length = reader.ValueSpan.Length;
                Span<byte> buffer = length <= StackDecodeLimit ? stackalloc byte[StackDecodeLimit] : (rented = ArrayPool<byte>.Shared.Rent(length));
                try
                {
                    int written = reader.CopyString(buffer);
                    return CardNumberDetector.Contains(buffer[..written]);
                }
                finally
                {
                    if (rented is not null)
                        ArrayPool<byte>.Shared.Return(rented);
                }
            default:
                return false;
        }
    }
}
