using System.Buffers;
using FastMcp.Gateway.Hosting;
using FastMcp.Gateway.Stages;
using FastMcp.Gateway.Tasks;
using FastMcp.Mcp;
using FastMcp.Policy;

namespace FastMcp.Gateway.Proxy;

/// <summary>
/// Tasks belong to the caller whose call created them (docs/mcp-handling.md, "Tasks"): a tasks request naming a task id
/// is forwarded only when that id is bound to the caller on this upstream (Tasks/TaskBindings.cs). Anything else, another
/// caller's task or one the gateway does not know, gets the answer an upstream gives for an unknown task, so nobody
/// learns that someone else's task exists. With tasks.sealed every task id a client message names must be one sealed for
/// the caller and upstream (Tasks/TaskSeal.cs), which any replica can open: it is opened, bound here with the creating
/// call it carries, and the upstream gets its own id (Tasks/ClientTaskIds.cs). A notification on a stream naming a task
/// not bound here is withheld and recorded, and the stream goes on.
/// </summary>
internal sealed partial class ClientConnection : ITaskNotificationGate
{
    /// <summary>What an upstream answers (JSON-RPC -32602) for a task id it does not know.</summary>
    private static readonly byte[] TaskNotFound = "Task not found"u8.ToArray();

    /// <summary>How the client is told its task's creating call is no longer allowed (the reason follows).</summary>
    private const string TaskCallNotAllowed = "the call that created this task is no longer allowed: ";

    private const string NotBoundHere =
        "task id not bound to anyone here (never seen created, forgotten past tasks.maxPerCaller or tasks.maxPerUpstream, or created before a restart)";

    /// <summary>The last <see cref="TaskRefusal"/> refused the caller's own task: the call that created it is no longer allowed.</summary>
    private bool _taskCallRefused;

    /// <summary>
    /// The caller's own task this exchange's request was admitted on, and the policy it was decided under: an answer that is
    /// an event stream is watched for the call that created the task (<see cref="WatchTaskStream"/>). Null for any other exchange.
    /// </summary>
    private TaskBinding? _admittedTask;
    private PolicyEngine? _admittedTaskEngine;

    /// <summary>
    /// Set by <see cref="TaskRefusal"/> when it admitted the caller's task on an approval another replica holds: the request
    /// goes on only once that replica vouches for it (<see cref="ConfirmTaskApprovalAsync"/>).
    /// </summary>
    private RemoteTaskApproval? _taskApproval;

    /// <summary>
    /// The audit reason when the message names a task that is not the caller's here, or whose creating call is no longer
    /// allowed (then <see cref="_taskCallRefused"/>); null when it may go on.
    /// </summary>
    private string? TaskRefusal(in ReadOnlySequence<byte> body, MessageRoute route)
    {
        _taskCallRefused = false;
        _taskApproval = null;
        _admittedTask = null;
        ref McpCall call = ref _exchange.Call;
        if (_rt.TaskBindings is not { } bindings) return null;
        // Federated paths relay no tasks methods and seal nothing (docs/mcp-handling.md).
        if (_rt.TaskSeal is { } seal && _exchange.Federation is null) return SealedTaskRefusal(seal, bindings, body);
        // tasks/list names no task: its answer is filtered to the caller's own (Tasks/TaskListFiltering.cs).
        if (route != MessageRoute.Decide || !call.IsTasksMethod || !call.HasTaskId) return null;
        Span<byte> id = stackalloc byte[TaskBindings.MaxIdBytes];
        int n = McpInspector.CopyUnescaped(body, call.TaskIdRange, id);
        TaskBinding? owned = null;
        TaskCheck check = n <= 0 ? TaskCheck.Unknown : bindings.Check(_exchange.Route!.Name, id[..n], _exchange.Principal!, out owned);
        return check switch
        {
            TaskCheck.Owned => AdmitOwnedTask(owned),
            TaskCheck.Foreign => ClientTaskIds.BoundToAnother,
            _ => NotBoundHere,
        };
    }

    /// <summary>
    /// The caller's own task: admitted while the call that created it would be allowed now (Tasks/TaskRedecision.cs), its
    /// answers masked as that decision says. Null: go on (also for a message naming no required task).
    /// </summary>
    private string? AdmitOwnedTask(TaskBinding? owned)
    {
        if (owned is null) return null;
        PolicyEngine? engine = _rt.Authorization?.Engine;
        string? refusal = TaskRedecision.Admit(owned, engine, _exchange.Principal!, _exchange.Route!.Name, _request.Query, _exchange.ClientAddress,
            _rt.Approvals, out string? profile, out _taskApproval);
        if (refusal is null)
        {
            _admittedTask = owned;
            _admittedTaskEngine = engine;
            return TakeCreatingProfile(profile);
        }
        _taskCallRefused = true;
        return refusal;
    }

    /// <summary>
    /// A task admitted on an approval another replica holds: asks the holder (every peer when it is not known) whether that
    /// approval still stands for the caller. Null: it does, go on. Else the refusal (then <see cref="_taskCallRefused"/>).
    /// Only for such tasks, never for other requests.
    /// </summary>
    private async ValueTask<string?> ConfirmTaskApprovalAsync(RemoteTaskApproval remote)
    {
        string? refusal = await remote.ConfirmAsync(_rt.Approvals, _exchange.Principal!).ConfigureAwait(false);
        _taskCallRefused = refusal is not null;
        return refusal;
    }

    /// <summary>
    /// A request on the caller's own task answered as an event stream (a tasks/result while the task runs): its events are
    /// relayed only while the call that created the task would be allowed now (StreamPolicyWatch.BeginTask). Null: nothing to
    /// watch (no task admitted, or no policy stage).
    /// </summary>
    private StreamPolicyWatch? WatchTaskStream()
    {
        if (_admittedTask is not { } task || _admittedTaskEngine is not { } engine) return null;
        _admittedTask = null;
        _admittedTaskEngine = null;
        StreamPolicyWatch watch = _policyWatch ??= new StreamPolicyWatch(_rt);
        watch.BeginTask(engine, task, _exchange.Principal!, _exchange.Route!.Name, _request, _exchange.ClientAddress, RemoteAddress, _exchange, _rt.Approvals);
        return watch;
    }

    /// <summary>
    /// A stream's task whose creating call is no longer allowed (StreamPolicyWatch.TaskRefusal): the exchange's decision
    /// becomes that refusal, counted and recorded as a Denied record as for a refused request. False: the audit log
    /// refused the record (the stream ends without the refusal's answer).
    /// </summary>
    public ValueTask<bool> RecordTaskCallRefusedAsync(string reason)
    {
        _exchange.Decision = PolicyEngine.RefuseTaskCallNotAllowed();
        return CountAndRecordDenialAsync(_exchange.Recorded, reason);
    }

    /// <summary>The refusal's message the client reads: the same as a new request on the task gets.</summary>
    public static byte[] TaskCallRefusalMessage(string reason) => System.Text.Encoding.UTF8.GetBytes(TaskCallNotAllowed + reason);

    /// <summary>
    /// A task's answers are masked with the profile of the rule that allowed the call creating it, not with whatever rule
    /// allows the tasks request (a tasks/* rule without a profile would show a contractor the digits the tool's rule hides).
    /// A profile a reload removed refuses the request: the answer is never masked with something looser. Null: go on.
    /// </summary>
    private string? TakeCreatingProfile(string? createdUnder)
    {
        if (createdUnder is null || _rt.Masking is not { } masking) return null;
        if (masking.Profile(createdUnder) is not { } picked) return $"the masking profile '{createdUnder}' the task was created under is not configured any more";
        _exchange.Masking = picked;
        return null;
    }

    /// <summary>
    /// tasks.sealed: every task id the message names (a tasks request's, a related-task _meta's, in a request, a
    /// notification or an answer to a server request) must be a sealed id that verifies for this caller and route; the
    /// upstream then gets its own ids in their place. Anything else (the upstream's raw id, a forged tag, another
    /// caller's or upstream's sealed id) is refused as an unknown task. A message naming no task costs two vectorized
    /// searches: the JSON walk runs only when its bytes hold "taskId" or a \u escape that could spell it.
    /// </summary>
    private string? SealedTaskRefusal(TaskSeal seal, TaskBindings bindings, in ReadOnlySequence<byte> body)
    {
        ref McpCall call = ref _exchange.Call;
        if (!call.HasTaskId && !Holds(body, "taskId"u8) && !Holds(body, "\\u"u8)) return null;
        ReadOnlySpan<byte> json = _exchange.SealedTask.Contiguous(body);
        return ClientTaskIds.Open(seal, bindings, _exchange.Route!.Name, _exchange.Principal!, json, call.HasTaskId ? call.TaskIdRange : default, _exchange.SealedTask,
            out TaskBinding? owned) ?? AdmitOwnedTask(owned);
    }

    private static bool Holds(in ReadOnlySequence<byte> body, ReadOnlySpan<byte> text)
    {
        if (body.IsSingleSegment) return body.FirstSpan.IndexOf(text) >= 0;
        var reader = new SequenceReader<byte>(body);
        return reader.TryReadTo(out ReadOnlySequence<byte> _, text, advancePastDelimiter: false);
    }

    /// <summary>A batch member that is a tasks request: refused with the batch (member tasks are not bound, see docs).</summary>
    private static bool HasTasksMember(BatchMembers batch)
    {
        for (int i = 0; i < batch.Count; i++)
        {
            if (batch.Calls[i].IsTasksMethod) return true;
        }
        return false;
    }

    public bool RecordTaskNotificationWithheld(Exchange exchange, ReadOnlyMemory<byte> message, in McpResponseView view)
    {
        Admin.GatewayCounters.Add(ref _rt.Counters.PolicyDenied);
        if (_rt.Audit is not { } audit) return true;
        exchange.Stage = ExchangeStage.RecordResponse;
        try
        {
            audit.RecordTaskNotificationWithheld(exchange, _auditScratch, RemoteAddress, message, view);
            return true;
        }
        catch (FastMcp.Audit.AuditUnavailableException)
        {
            RecordLost("audit log unavailable on an event stream: a withheld task notification has no record; the stream was ended");
            return false;
        }
    }
}
