using FastMcp.Gateway.Sessions;
using FastMcp.Identity;
using FastMcp.Mcp;

namespace FastMcp.Gateway.Tasks;

/// <summary>
/// tasks.sealed, client to upstream: every task id a client message names (<see cref="TaskIdMembers"/>: a tasks request's
/// params.taskId, the related-task _meta of an answer to a server request made for a task, of any request or notification)
/// must be a sealed id that verifies for this caller and upstream. Each is opened, bound here when this replica did not
/// know it (the tag proves it the caller's), and the upstream gets the message with its own ids in their place. One that
/// does not verify refuses the whole message: the upstream never gets an id it did not issue, nor another caller's.
/// Allocates nothing (stack buffers; the rewrite goes into the exchange's pooled <see cref="SealedTaskBody"/>).
/// </summary>
internal static class ClientTaskIds
{
    public const string NotSealedForCaller =
        "task id not sealed for this caller and upstream (the upstream's raw id, a forged tag, or another caller's or upstream's sealed id)";

    public const string BoundToAnother = "task bound to another caller: answered as an unknown task";

    public const string Unreadable = "the task ids of the message could not be read";

    /// <summary>
    /// Opens the task ids of <paramref name="json"/> (the client's message, whole) into <paramref name="body"/>. Null: the
    /// message may go on (rewritten when it named a task). Else the reason it is refused. <paramref name="required"/>: a
    /// token the walk must open (the params.taskId McpInspector found in a tasks request), or an empty range.
    /// <paramref name="required"/>'s binding comes back in <paramref name="owned"/>, to be decided again (TaskRedecision); one
    /// this replica binds here on presentation is bound under <paramref name="engine"/>, the policy in force.
    /// </summary>
    public static string? Open(IdSeal seal, TaskBindings bindings, string upstream, Principal caller, ReadOnlySpan<byte> json, Range required, SealedTaskBody body,
        FastMcp.Policy.PolicyEngine? engine, out TaskBinding? owned)
    {
        var opener = new Opener(seal, bindings, upstream, caller, json, required, body, engine);
        body.Begin();
        owned = null;
        if (!TaskIdMembers.TryVisit(json, ref opener)) return opener.Refusal ?? Unreadable;
        // The id the tasks request is checked for was not among those opened (a member the walk reads otherwise): refused.
        if (!McpCall.IsEmpty(required) && !opener.SawRequired) return Unreadable;
        owned = opener.RequiredBinding;
        if (opener.Opened == 0) return null;
        body.Copy(json[opener.Copied..]);
        body.End();
        return null;
    }

    private ref struct Opener(IdSeal seal, TaskBindings bindings, string upstream, Principal caller, ReadOnlySpan<byte> json, Range required, SealedTaskBody body,
        FastMcp.Policy.PolicyEngine? engine) : ITaskIdVisitor
    {
        private readonly ReadOnlySpan<byte> _json = json;

        public string? Refusal { get; private set; }
        public int Opened { get; private set; }
        public int Copied { get; private set; }
        public bool SawRequired { get; private set; }
        public TaskBinding? RequiredBinding { get; private set; }

        public bool Visit(Range taskIdToken)
        {
            // The longest sealed id opened is that of the longest id bound (about 1.4 KiB): longer ones do not fit, and are refused.
            int longest = seal.SealedLength(TaskBindings.MaxIdBytes);
            Span<byte> presented = stackalloc byte[longest];
            int n = McpInspector.CopyUnescaped(_json, taskIdToken, presented);
            Span<byte> id = stackalloc byte[longest];
            int length = n <= 0 ? -1 : seal.Open(presented[..n], caller, upstream, id);
            if (length <= 0 || length > TaskBindings.MaxIdBytes)
            {
                Refusal = NotSealedForCaller;
                return false;
            }
            ReadOnlySpan<byte> upstreamId = id[..length];
            // Bound already on most polls (no allocation); bound here the first time this replica sees the caller's task.
            TaskCheck check = bindings.Check(upstream, upstreamId, caller, out TaskBinding? owned);
            // Bound on presentation: this replica never saw the creating call, so the binding holds none (TaskRedecision).
            if (check == TaskCheck.Unknown && bindings.Bind(upstream, upstreamId, caller, new TaskVerdict(engine, caller, null)))
                check = bindings.Check(upstream, upstreamId, caller, out owned);
            if (check != TaskCheck.Owned)
            {
                Refusal = BoundToAnother;
                return false;
            }
            if (taskIdToken.Start.Value == required.Start.Value && taskIdToken.End.Value == required.End.Value)
            {
                SawRequired = true;
                RequiredBinding = owned;
            }
            body.Copy(_json[Copied..taskIdToken.Start.Value]);
            body.WriteId(upstreamId);
            Copied = taskIdToken.End.Value;
            Opened++;
            return true;
        }
    }
}
