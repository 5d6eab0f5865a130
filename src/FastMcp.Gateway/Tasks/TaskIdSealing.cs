using System.Buffers;
using FastMcp.Gateway.Buffers;
using FastMcp.Gateway.Proxy;
using FastMcp.Gateway.Stages;
using FastMcp.Identity;
using FastMcp.Mcp;

namespace FastMcp.Gateway.Tasks;

/// <summary>
/// With tasks.sealed, the client sees every task id an upstream names sealed for it (TaskSeal.cs, "fmt2.", carrying the
/// creating call so that any replica can decide the task's requests as this one would): the
/// creating answer, tasks/get, tasks/cancel and tasks/update answers, tasks/list entries, notifications/tasks/status and
/// the related-task _meta (<see cref="TaskIdMembers"/>). Only an id bound to the caller here is sealed: sealing one is
/// vouching that it is theirs, so it runs after the creation binding and the list filter, and a message naming an id not
/// the caller's here, or that cannot be read, is withheld (fail closed), never passed with the upstream's id. On a stream,
/// a notification naming a task not the caller's here is withheld and the stream goes on (ResponseRelay drops it).
/// </summary>
internal sealed class TaskIdSealing(TaskBindings bindings, TaskSeal seal) : IResponseTransform
{
    public bool Apply(Exchange exchange, PooledBufferWriter message, bool isEvent, TransformBuffers buffers)
    {
        // Batches predate tasks and federated paths relay no tasks methods: neither binds, so neither seals.
        if (exchange.Principal is not { } caller || exchange.Route is not { } route || exchange.Batch is not null || exchange.Federation is not null) return true;
        // Most messages name no task: a vectorized search spares them the JSON pass.
        if (message.WrittenSpan.IndexOf("taskId"u8) < 0) return true;
        ReadOnlyMemory<byte> json = MessageJson.Of(message, isEvent, buffers);
        if (json.IsEmpty) return true;
        buffers.Output.Clear();
        var writer = new SealedIdWriter(bindings, seal, route.Name, caller, json.Span, buffers.Output);
        if (!TaskIdMembers.TryVisit(json.Span, ref writer))
        {
            // As the list filter: a 2xx message that cannot be read is not passed on; error statuses pass.
            if (!writer.Refused && exchange.ResponseStatus is not (>= 200 and < 300)) return true;
            // A notification on a stream for a task bound through another replica (its status, a related-task message):
            // withheld, and the stream goes on; ending it would lose the caller's other events to a reconnect. A server
            // request (the upstream waits for an answer) or an answer still ends the stream, as does anything unreadable.
            if (writer.Refused && isEvent && IsNotification(json)) exchange.TaskNotificationWithheld = true;
            else exchange.ResponseUnsealable = true;
            return false;
        }
        if (writer.Sealed == 0) return true;
        writer.Finish();
        MessageJson.Replace(message, isEvent, buffers);
        return true;
    }

    private static bool IsNotification(ReadOnlyMemory<byte> json) =>
        McpResponseInspector.TryInspect(new ReadOnlySequence<byte>(json), out McpResponseView view) && view.Kind == McpMessageKind.Notification;

    /// <summary>Copies the message to the output with each task id token replaced by its sealed id, as the walk visits them.</summary>
    private ref struct SealedIdWriter(TaskBindings bindings, TaskSeal seal, string upstream, Principal caller, ReadOnlySpan<byte> json, PooledBufferWriter output)
        : ITaskIdVisitor
    {
        private readonly ReadOnlySpan<byte> _json = json;
        private int _copied;

        /// <summary>A task id not bound to the caller here stopped the walk.</summary>
        public bool Refused { get; private set; }

        public int Sealed { get; private set; }

        public bool Visit(Range taskIdToken)
        {
            Span<byte> id = stackalloc byte[TaskBindings.MaxIdBytes];
            int n = McpInspector.CopyUnescaped(_json, taskIdToken, id);
            TaskBinding? owned = null;
            if (n <= 0 || bindings.Check(upstream, id[..n], caller, out owned) != TaskCheck.Owned)
            {
                Refused = true;
                return false;
            }
            // Sealed once per binding (the id carries the creating call), then shown as it is: no work, nothing allocated.
            byte[] sealedId = owned!.SealedId ??= seal.Seal(id[..n], owned.Call, caller, upstream);
            output.Write(_json[_copied..taskIdToken.Start.Value]);
            Span<byte> token = output.GetSpan(sealedId.Length + 2);
            token[0] = (byte)'"';
            sealedId.CopyTo(token[1..]);
            token[sealedId.Length + 1] = (byte)'"';
            output.Advance(sealedId.Length + 2);
            _copied = taskIdToken.End.Value;
            Sealed++;
            return true;
        }

        public readonly void Finish() => output.Write(_json[_copied..]);
    }
}
