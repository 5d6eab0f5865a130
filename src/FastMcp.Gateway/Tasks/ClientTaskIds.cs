using System.Buffers;
using System.Security.Cryptography;
using FastMcp.Identity;
using FastMcp.Mcp;

namespace FastMcp.Gateway.Tasks;

/// <summary>
/// tasks.sealed, client to upstream: every task id a client message names (<see cref="TaskIdMembers"/>: a tasks request's
/// params.taskId, the related-task _meta of an answer to a server request made for a task, of any request or notification)
/// must be a sealed id that opens for this caller and upstream (<see cref="TaskSeal"/>). Each is opened, bound here when
/// this replica did not know it (the seal proves it the caller's) with the creating call it carries, and the upstream gets
/// the message with its own ids in their place. One that does not open refuses the whole message: the upstream never gets
/// an id it did not issue, nor another caller's. Allocates nothing once a task is bound here (pooled buffers; the rewrite
/// goes into the exchange's pooled <see cref="SealedTaskBody"/>).
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
    /// this replica binds here on presentation is bound with the creating call its sealed id carries.
    /// </summary>
    public static string? Open(TaskSeal seal, TaskBindings bindings, string upstream, Principal caller, ReadOnlySpan<byte> json, Range required, SealedTaskBody body,
        out TaskBinding? owned)
    {
        var opener = new Opener(seal, bindings, upstream, caller, json, required, body);
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

    private ref struct Opener(TaskSeal seal, TaskBindings bindings, string upstream, Principal caller, ReadOnlySpan<byte> json, Range required, SealedTaskBody body)
        : ITaskIdVisitor
    {
        private readonly ReadOnlySpan<byte> _json = json;

        public string? Refusal { get; private set; }
        public int Opened { get; private set; }
        public int Copied { get; private set; }
        public bool SawRequired { get; private set; }
        public TaskBinding? RequiredBinding { get; private set; }

        public bool Visit(Range taskIdToken)
        {
            // Sealed ids up to about 9.4 KiB (the largest id, target and kept arguments) are opened; longer ones are refused.
            byte[] presented = ArrayPool<byte>.Shared.Rent(TaskSeal.MaxSealedLength);
            byte[] plaintext = ArrayPool<byte>.Shared.Rent(TaskSeal.MaxOpenedLength);
            try
            {
                return Visit(taskIdToken, presented, plaintext);
            }
            finally
            {
                // The plaintext may hold the creating call's arguments: not left in the pool.
                CryptographicOperations.ZeroMemory(plaintext);
                ArrayPool<byte>.Shared.Return(presented);
                ArrayPool<byte>.Shared.Return(plaintext);
            }
        }

        private bool Visit(Range taskIdToken, Span<byte> presented, Span<byte> opened)
        {
            int n = McpInspector.CopyUnescaped(_json, taskIdToken, presented[..TaskSeal.MaxSealedLength]);
            Range idRange = default, callRange = default;
            bool v1 = false;
            if (n <= 0 || !seal.Open(presented[..n], caller, upstream, opened, out idRange, out callRange, out v1))
            {
                Refusal = NotSealedForCaller;
                return false;
            }
            ReadOnlySpan<byte> upstreamId = opened[idRange];
            // Bound already on most polls (no allocation); bound here the first time this replica sees the caller's task.
            TaskCheck check = bindings.Check(upstream, upstreamId, caller, out TaskBinding? owned);
            if (check == TaskCheck.Unknown)
                check = BindOnPresentation(upstreamId, v1 ? null : SealedTaskPlaintext.ReadCall(opened[callRange]), presented[..n], out owned);
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

        /// <summary>
        /// This replica never saw the creating call: it binds the task with the call its sealed id carries (null for a
        /// format 1 id, which carries none: TaskRedecision then refuses it), decided under the policy in force at the
        /// task's first request here (the verdict names no engine), and keeps the presented id to show it back.
        /// </summary>
        private readonly TaskCheck BindOnPresentation(ReadOnlySpan<byte> upstreamId, TaskCreatingCall? call, ReadOnlySpan<byte> presented, out TaskBinding? owned)
        {
            owned = null;
            if (!bindings.Bind(upstream, upstreamId, caller, new TaskVerdict(null, caller, call?.Profile), call)) return TaskCheck.Foreign;
            TaskCheck check = bindings.Check(upstream, upstreamId, caller, out owned);
            if (owned is not null && owned.SealedId is null) owned.SealedId = presented.ToArray();
            return check;
        }
    }
}
