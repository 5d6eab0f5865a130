using System.Buffers;
using System.Text;
using System.Text.RegularExpressions;

namespace FastMcp.Policy;

/// <summary>
/// A compiled query condition: one parameter of the request target's query, by its decoded name, and one operator over
/// its decoded value (<see cref="QueryText"/>). The engine has checked the query readable before any rule is matched, so
/// the parameter occurs at most once here.
/// </summary>
internal sealed class QueryCondition
{
    private enum Operator : byte { Equals, Exists, Regex, ContainsCardNumber }

    private readonly Operator _op;
    private readonly byte[][] _literals = [];
    private readonly Regex? _regex;
    private readonly bool _expected = true;
    private readonly bool _negate;

    private QueryCondition(byte[] name, Operator op, bool negate)
    {
        Name = name;
        _op = op;
        _negate = negate;
    }

    private QueryCondition(byte[] name, bool negate, byte[][] literals) : this(name, Operator.Equals, negate) => _literals = literals;

    private QueryCondition(byte[] name, bool negate, Regex regex) : this(name, Operator.Regex, negate) => _regex = regex;

    private QueryCondition(byte[] name, bool negate, Operator op, bool expected) : this(name, op, negate) => _expected = expected;

    /// <summary>The parameter's name, decoded, as UTF-8.</summary>
    public byte[] Name { get; }

    /// <summary>Compiles the condition on <paramref name="parameter"/>; errors name the field "query.NAME[.operator]".</summary>
    public static QueryCondition Compile(string parameter, ArgumentConditionOptions? o, string rule)
    {
        string field = "query." + parameter;
        if (o is null) throw new PolicyException(rule, field, "condition is null");
        if (!string.IsNullOrEmpty(o.Pointer))
            throw new PolicyException(rule, field + ".pointer", "does not apply: a query condition names its parameter by its key");
        string? bound = o.GreaterThan is not null ? "greaterThan" : o.GreaterThanOrEqual is not null ? "greaterThanOrEqual"
            : o.LessThan is not null ? "lessThan" : o.LessThanOrEqual is not null ? "lessThanOrEqual" : null;
        if (bound is not null)
            throw new PolicyException(rule, $"{field}.{bound}", "a query value is text: use equals, in or regex");
        if (o.ContainsSensitiveData is not null)
            throw new PolicyException(rule, field + ".containsSensitiveData", "applies to arguments only: a query value has no members (containsCardNumber reads card numbers in it)");
        int operators = (o.EqualsValue is not null ? 1 : 0) + (o.In is not null ? 1 : 0) + (o.Regex is not null ? 1 : 0)
            + (o.Exists is not null ? 1 : 0) + (o.ContainsCardNumber is not null ? 1 : 0);
        if (operators != 1)
            throw new PolicyException(rule, field, operators == 0
                ? "needs one operator: equals, in, regex, exists or containsCardNumber"
                : "sets more than one operator; a parameter has one condition per rule");
        byte[] name = Encoding.UTF8.GetBytes(parameter);
        if (o.EqualsValue is not null)
            return new QueryCondition(name, o.Negate, [Encoding.UTF8.GetBytes(o.EqualsValue)]);
        if (o.In is not null)
        {
            if (o.In.Count == 0) throw new PolicyException(rule, field + ".in", "is empty");
            if (o.In.Exists(static v => v is null)) throw new PolicyException(rule, field + ".in", "contains null");
            return new QueryCondition(name, o.Negate, o.In.ConvertAll(static v => Encoding.UTF8.GetBytes(v)).ToArray());
        }
        if (o.Regex is not null)
        {
            try
            {
                // NonBacktracking: matching time is linear in the input, whatever the pattern (no ReDoS).
                return new QueryCondition(name, o.Negate, new Regex(o.Regex, RegexOptions.NonBacktracking | RegexOptions.CultureInvariant));
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
        if (o.Exists is bool exists) return new QueryCondition(name, o.Negate, Operator.Exists, exists);
        return new QueryCondition(name, o.Negate, Operator.ContainsCardNumber, o.ContainsCardNumber!.Value);
    }

    /// <summary>Evaluates over the raw query (the text after '?'). A missing parameter satisfies only exists:false (or a negation).</summary>
    public bool Evaluate(ReadOnlySpan<byte> query)
    {
        ReadOnlySpan<byte> rest = query;
        while (QueryText.Next(ref rest, out ReadOnlySpan<byte> name, out ReadOnlySpan<byte> value))
        {
            if (QueryText.DecodedEquals(name, Name, ignoreAsciiCase: false)) return Test(value) ^ _negate;
        }
        return (_op == Operator.Exists && !_expected) ^ _negate;
    }

    private bool Test(ReadOnlySpan<byte> raw)
    {
        if (_op == Operator.Exists) return _expected;
        byte[]? rented = null;
        Span<byte> value = raw.Length <= QueryText.StackDecodeLimit
            ? stackalloc byte[QueryText.StackDecodeLimit]
            : (rented = ArrayPool<byte>.Shared.Rent(raw.Length));
        try
        {
            value = value[..QueryText.Decode(raw, value)];
            switch (_op)
            {
                case Operator.Equals:
                    foreach (byte[] literal in _literals)
                        if (value.SequenceEqual(literal)) return true;
                    return false;
                case Operator.ContainsCardNumber:
                    return CardNumberDetector.Contains(value) == _expected;
                default:
                    return MatchesRegex(value);
            }
        }
        finally
        {
            if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private bool MatchesRegex(ReadOnlySpan<byte> utf8)
    {
        char[]? rented = null;
        Span<char> chars = utf8.Length <= QueryText.StackDecodeLimit
            ? stackalloc char[QueryText.StackDecodeLimit]
            : (rented = ArrayPool<char>.Shared.Rent(utf8.Length));
        try
        {
            return _regex!.IsMatch(chars[..Encoding.UTF8.GetChars(utf8, chars)]);
        }
        finally
        {
            if (rented is not null) ArrayPool<char>.Shared.Return(rented);
        }
    }
}
