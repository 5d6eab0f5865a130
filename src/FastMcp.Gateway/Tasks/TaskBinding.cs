namespace FastMcp.Gateway.Tasks;

/// <summary>
/// One task id an upstream created, the caller (issuer and subject) whose call created it, what it keeps of that call to
/// decide it again (<see cref="Call"/>; on a replica that bound the task on presentation of its sealed id, the call that id
/// carries; null when it carries none), and the last decision that admitted it (<see cref="Verdict"/>, whose profile masks
/// the task's answers). It sits in two creation-ordered lists, its upstream's and its caller's, so that either bound forgets the oldest in constant time.
/// </summary>
internal sealed class TaskBinding(string id, string subject, string? issuer, TaskCreatingCall? call, TaskVerdict verdict)
{
    private TaskVerdict _verdict = verdict;

    public string Id { get; } = id;
    public string Subject { get; } = subject;
    public string? Issuer { get; } = issuer;
    public TaskCreatingCall? Call { get; } = call;

    /// <summary>Swapped whole when the call is decided again (after a reload, for another token of the caller).</summary>
    public TaskVerdict Verdict
    {
        get => Volatile.Read(ref _verdict);
        set => Volatile.Write(ref _verdict, value);
    }

    /// <summary>
    /// The sealed id the caller holds for this task (tasks.sealed): made once, when the task is first shown to the caller,
    /// or the one presented when this replica bound the task on presentation, so that every answer shows the same id.
    /// </summary>
    public byte[]? SealedId
    {
        get => Volatile.Read(ref _sealedId);
        set => Volatile.Write(ref _sealedId, value);
    }

    private byte[]? _sealedId;

    /// <summary>The masking profile the task's answers take now (null: the default).</summary>
    public string? MaskProfile => Verdict.MaskProfile;

    public LinkedListNode<TaskBinding>? InUpstream;
    public LinkedListNode<TaskBinding>? InCaller;

    /// <summary>The same caller: same subject at the same issuer (ordinal, no allocation).</summary>
    public bool IsOf(string subject, string? issuer) =>
        string.Equals(Subject, subject, StringComparison.Ordinal) && string.Equals(Issuer, issuer, StringComparison.Ordinal);
}
