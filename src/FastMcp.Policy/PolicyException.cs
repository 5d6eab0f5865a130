namespace FastMcp.Policy;

/// <summary>The policy cannot be compiled. The message names the rule and the field, so an operator can fix it;
/// on hot reload the gateway keeps the previous policy.</summary>
public sealed class PolicyException : Exception
{
    public PolicyException(string? ruleName, string? field, string detail, Exception? inner = null)
        : base(Format(ruleName, field, detail), inner)
    {
        RuleName = ruleName;
        Field = field;
    }

    public string? RuleName { get; }
    public string? Field { get; }

    private static string Format(string? rule, string? field, string detail) => (rule, field) switch
    {
        (null, null) => $"policy: {detail}",
        (null, _) => $"policy field '{field}': {detail}",
        (_, null) => $"policy rule '{rule}': {detail}",
        _ => $"policy rule '{rule}' field '{field}': {detail}",
    };
}
