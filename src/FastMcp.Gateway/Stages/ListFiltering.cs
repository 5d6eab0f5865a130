using System.Buffers;
using FastMcp.Gateway.Buffers;
using FastMcp.Gateway.Proxy;
using FastMcp.Http;
using FastMcp.Identity;
using FastMcp.Mcp;
using FastMcp.Policy;

namespace FastMcp.Gateway.Stages;

/// <summary>
/// tools/list, prompts/list, resources/list and resources/templates/list results keep only the
/// entries the caller may use, so nobody sees a tool they may not call. It reads every shape such
/// an answer can take: a JSON body, an event with one or several data lines, a JSON-RPC batch of
/// answers (each matched to the request it answers). An answer it cannot filter is refused, never
/// passed on whole (fail closed), and why is noted on the exchange (<see cref="Exchange.ListRefusal"/>) for the client's
/// error and the record. Shared by all connections: it keeps nothing but the policy.
/// </summary>
internal sealed class ListFiltering(PolicyAuthorization authorization) : IResponseTransform
{
    private enum Outcome : byte { Unchanged, Filtered, Refused }

    public bool Apply(Exchange exchange, PooledBufferWriter message, bool isEvent, TransformBuffers buffers)
    {
        // Without a call (a GET stream) nothing says what an answer on it answers: an upstream's event store replays old
        // answers there, lists included, so every answer on it is looked at (TryListMethodAnswered).
        if (exchange.Principal is not { } principal || (exchange.HasCall && !ExpectsListAnswer(exchange))) return true;

        ReadOnlyMemory<byte> json = MessageJson.Of(message, isEvent, buffers);
        if (json.IsEmpty) return true; // comments, retry, id-only and priming events, an empty body

        var filter = new VisibilityFilter(authorization.Engine, principal, exchange.Route?.Name, exchange.Request.QueryMemory, exchange.ClientAddress);
        buffers.Output.Clear();
        int removed = 0;
        Outcome outcome = FilterMessage(exchange, json, ref filter, buffers.Output, ref removed);
        if (outcome == Outcome.Unchanged) return true;
        if (outcome == Outcome.Refused)
        {
            // Said by the step that refused; else (a message the view could not read) read again to say why: refusals only.
            if (exchange.ListRefusal == ListFilterRefusal.None) exchange.ListRefusal = ListFilterDiagnosis.Diagnose(new ReadOnlySequence<byte>(json));
            return false;
        }

        exchange.ListEntriesRemoved += removed;
        MessageJson.Replace(message, isEvent, buffers);
        return true;
    }

    /// <summary>True when the exchange asked for a filtered list: the call itself, or a member of its batch.</summary>
    private static bool ExpectsListAnswer(Exchange exchange) =>
        exchange.HasCall && (exchange.Batch is { } batch ? batch.HasListRequest : McpMethods.IsFilterableList(exchange.Call.Method));

    private static Outcome FilterMessage(Exchange exchange, ReadOnlyMemory<byte> json, ref VisibilityFilter filter, PooledBufferWriter output, ref int removed)
    {
        var sequence = new ReadOnlySequence<byte>(json);
        if (!McpResponseInspector.TryInspect(sequence, out McpResponseView view))
        {
            // A client reads a 2xx body as its answer, so one we cannot read is not passed on. Error
            // statuses are not read as answers (and a 404 tells the client its session is gone): they pass.
            return exchange.ResponseStatus is >= 200 and < 300 ? Outcome.Refused : Outcome.Unchanged;
        }
        if (view.Kind == McpMessageKind.Batch) return FilterBatch(exchange, json, ref filter, output, ref removed);
        return FilterOne(exchange, json, view, ref filter, output, ref removed);
    }

    private static Outcome FilterOne(Exchange exchange, ReadOnlyMemory<byte> json, in McpResponseView view, ref VisibilityFilter filter,
        PooledBufferWriter output, ref int removed)
    {
        if (view.Kind != McpMessageKind.Response) return Outcome.Unchanged; // errors, server requests, notifications
        if (!TryListMethodAnswered(exchange, json, json.Span[view.IdRange], out McpMethod listMethod)) return Refuse(exchange, ListFilterRefusal.Unreadable);
        if (listMethod == McpMethod.Unknown) return Outcome.Unchanged;
        if (!ListResultFilter.TryFilter(new ReadOnlySequence<byte>(json), listMethod, ref filter, output, out int n, out ListFilterRefusal refusal))
            return Refuse(exchange, refusal);
        removed += n;
        return Outcome.Filtered;
    }

    private static Outcome Refuse(Exchange exchange, ListFilterRefusal why)
    {
        exchange.ListRefusal = why;
        return Outcome.Refused;
    }

    /// <summary>A JSON array of messages: each member is read and, when it answers a list request, filtered.</summary>
    private static Outcome FilterBatch(Exchange exchange, ReadOnlyMemory<byte> json, ref VisibilityFilter filter, PooledBufferWriter output, ref int removed)
    {
        Span<Range> members = stackalloc Range[McpBatch.MaxMembers];
        if (McpBatch.LocateMembers(json, members, out int count) != McpBatchError.None) return Outcome.Refused;
        bool changed = false;
        output.Write("["u8);
        for (int i = 0; i < count; i++)
        {
            if (i > 0) output.Write(","u8);
            ReadOnlyMemory<byte> member = json[members[i]];
            if (!McpResponseInspector.TryInspect(new ReadOnlySequence<byte>(member), out McpResponseView view))
            {
                return Refuse(exchange, ListFilterDiagnosis.Diagnose(new ReadOnlySequence<byte>(member))); // it might be the list
            }
            if (view.Kind == McpMessageKind.Batch) return Refuse(exchange, ListFilterRefusal.Unreadable); // not a message a client could match
            Outcome outcome = FilterOne(exchange, member, view, ref filter, output, ref removed);
            if (outcome == Outcome.Refused) return Outcome.Refused;
            if (outcome == Outcome.Unchanged) output.Write(member.Span);
            changed |= outcome == Outcome.Filtered;
        }
        output.Write("]"u8);
        return changed ? Outcome.Filtered : Outcome.Unchanged;
    }

    /// <summary>
    /// Which list a success answer is the result of. A single call's answer is its list; in a batch the
    /// answer's id names the member (false when it names none: it could be any of them). Without a call (a GET
    /// stream) the result's shape says: a list member makes it that list (false when it holds several kinds).
    /// </summary>
    private static bool TryListMethodAnswered(Exchange exchange, ReadOnlyMemory<byte> answer, ReadOnlySpan<byte> answerId, out McpMethod listMethod)
    {
        if (!exchange.HasCall) return ListResultShape.TryFind(new ReadOnlySequence<byte>(answer), out listMethod);
        if (exchange.Batch is { } batch) return batch.TryMatchAnswer(answerId, out listMethod);
        listMethod = McpMethods.IsFilterableList(exchange.Call.Method) ? exchange.Call.Method : McpMethod.Unknown;
        return true;
    }

    /// <remarks><paramref name="query"/>: the list request's target query; the calls made through the list would carry it.</remarks>
    private readonly struct VisibilityFilter(PolicyEngine engine, Principal principal, string? upstream, ReadOnlyMemory<byte> query,
        System.Net.IPAddress? address) : IListEntryFilter
    {
        public bool Keep(McpMethod listMethod, scoped ReadOnlySpan<byte> nameUtf8) =>
            engine.IsVisible(principal, CallMethod(listMethod), nameUtf8, upstream, query.Span, address);

        private static ReadOnlySpan<byte> CallMethod(McpMethod listMethod) => listMethod switch
        {
            McpMethod.ToolsList => "tools/call"u8,
            McpMethod.PromptsList => "prompts/get"u8,
            _ => "resources/read"u8,
        };
    }
}
