namespace FastMcp.Policy;

/// <summary>The outcome for one request: the action and the rule that decided it (null when the default applied).</summary>
public readonly struct PolicyDecision
{
    internal PolicyDecision(PolicyAction action, CompiledRule? rule, string? defaultMessage)
    {
        Action = action;
        Rule = rule;
        _defaultMessage = defaultMessage;
    }

    private readonly string? _defaultMessage;

    public PolicyAction Action { get; }
    public CompiledRule? Rule { get; }
    public bool IsDefault => Rule is null;

    /// <summary>Masking profile of the deciding rule, if any.</summary>
    public string? MaskProfile => Rule?.MaskProfile;

    /// <summary>Text for the client: the rule's message, or a fixed sentence naming the rule.</summary>
    public string Message => Rule is { } rule
        ? rule.Message ?? rule.DefaultMessage
        : _defaultMessage ?? "no policy rule allows this request";

    public override string ToString() => $"{Action} by {(Rule is null ? "default" : Rule.Name)}";
}
