namespace FastMcp.Gateway.Tasks;

/// <summary>
/// One task id an upstream created, the caller (issuer and subject) whose call created it, and the masking profile of
/// the rule that allowed that call (null: the default), which masks the task's answers too. It sits in two
/// creation-ordered lists, its upstream's and its caller's, so that either bound forgets the oldest in constant time.
/// </summary>
internal sealed class TaskBinding(string id, string subject, string? issuer, string? maskProfile)
{
    public string? MaskProfile { get; } = maskProfile;
    public string Id { get; } = id;
    public string Subject { get; } = subject;
    public string? Issuer { get; } = issuer;

    public LinkedListNode<TaskBinding>? InUpstream;
    public LinkedListNode<TaskBinding>? InCaller;

    /// <summary>The same caller: same subject at the same issuer (ordinal, no allocation).</summary>
    public bool IsOf(string subject, string? issuer) =>
        string.Equals(Subject, subject, StringComparison.Ordinal) && string.Equals(Issuer, issuer, StringComparison.Ordinal);
}
