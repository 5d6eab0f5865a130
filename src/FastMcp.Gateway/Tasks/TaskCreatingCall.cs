namespace FastMcp.Gateway.Tasks;

/// <summary>
/// What a task binding keeps of the call that created the task, so that the policy can decide that call again after a
/// reload: its method and target (params.name, or params.uri, unescaped, at most 1 KiB) and its arguments only when they
/// are at most <see cref="MaxKeptArgumentBytes"/> and hold no card number and no sensitive authentication data
/// (PCI DSS 3.3.1: a security code must not stay in memory for a task's lifetime). Arguments not kept are
/// <see cref="ArgumentsWithheld"/>: a rule that would have to read them refuses the task instead of being guessed.
/// It also keeps what the decision that allowed it said (the rule, its masking profile, the approval id), which the task's
/// sealed id carries to other replicas (<see cref="SealedTaskPlaintext"/>). Immutable; at most about 7 KiB per binding
/// (the arguments, a 1 KiB target as UTF-16, the method, the rule's and profile's names).
/// </summary>
internal sealed class TaskCreatingCall(string method, string? target, byte[]? arguments, bool argumentsWithheld, Approvals.PendingApproval? approval,
    string? rule = null, string? profile = null, string? approvalId = null)
{
    /// <summary>Longest arguments JSON kept with a binding; longer ones are withheld.</summary>
    public const int MaxKeptArgumentBytes = 4096;

    public string Method { get; } = method;

    /// <summary>The tool or prompt name, or resource URI, as the policy read it (null: the call named none).</summary>
    public string? Target { get; } = target;

    /// <summary>params.arguments as sent (null: none, or withheld).</summary>
    public byte[]? Arguments { get; } = arguments;

    /// <summary>The call had arguments the binding does not keep (too long, or holding card data).</summary>
    public bool ArgumentsWithheld { get; } = argumentsWithheld;

    /// <summary>The approval that admitted the call (a require_approval rule's); its revocation stops the task.</summary>
    public Approvals.PendingApproval? Approval { get; } = approval;

    /// <summary>The rule that allowed the call when the task was created (null: the default, or no policy stage).</summary>
    public string? Rule { get; } = rule;

    /// <summary>That rule's masking profile (null: the default masking).</summary>
    public string? Profile { get; } = profile;

    /// <summary>
    /// The id of the approval that admitted the call (a require_approval rule's): <see cref="Approval"/>'s on the replica
    /// that created the task; on another replica, what the task's sealed id attests (the approval itself lives there).
    /// </summary>
    public string? ApprovalId { get; } = approvalId ?? approval?.Id;

    /// <summary>The same call with its arguments withheld (the upstream's budget for kept arguments is spent).</summary>
    public TaskCreatingCall WithArgumentsWithheld() => new(Method, Target, null, true, Approval, Rule, Profile, ApprovalId);
}
