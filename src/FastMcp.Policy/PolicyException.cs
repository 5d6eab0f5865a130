namespace FastMcp.Policy;

/// <summary>The policy cannot be compiled. The message names the rule and the field, so an operator can fix it;
/// on hot reload the gateway keeps the previous policy.</summary>
public sealed class PolicyException : Exception
{
    public PolicyException(string? ruleName, string? field, string detail, Exception? inner = null)
        : this(null, ruleName, field, detail, inner)
    {
    }

    private PolicyException(string? section, string? ruleName, string? field, string detail, Exception? inner)
        : base(section is null ? Format(ruleName, field, detail) : $"{section}: {Format(ruleName, field, detail)}", inner)
    {
        Section = section;
        RuleName = ruleName;
        Field = field;
        Detail = detail;
    }

    /// <summary>The part of the policy section the error is in ("serverRequests"); null for the client rules.</summary>
    public string? Section { get; }
    public string? RuleName { get; }
    public string? Field { get; }
    public string Detail { get; }

    /// <summary>The same error, placed in <paramref name="section"/> of the policy.</summary>
    public PolicyException In(string section) => new(section, RuleName, Field, Detail, this);

    private static string Format(string? rule, string? field, string detail) => (rule, field) switch
    {
        (null, null) => $"policy: {detail}",
        (null, _) => $"policy field '{field}': {detail}",
        (_, null) => $"policy rule '{rule}': {detail}",
        _ => $"policy rule '{rule}' field '{field}': {detail}",
    };
}
