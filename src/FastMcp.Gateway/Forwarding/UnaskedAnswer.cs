using System.Buffers;
using FastMcp.Gateway.Proxy;
using FastMcp.Gateway.Sessions;
using FastMcp.Http;
using FastMcp.Mcp;

namespace FastMcp.Gateway.Forwarding;

/// <summary>
/// A JSON-RPC answer (a result or an error) to no request the client sent in this exchange, on any route: the client would
/// take it for one of its own pending calls (and read another caller's data as its answer, when the upstream mixed its
/// callers up). Asked are, byte for byte, the POST's request id or its batch's request ids (Stages/EchoedClientId.cs); a
/// GET stream answers none, except a resumption (Last-Event-ID), which may answer a call of this caller whose POST stream
/// ended before its answer (<see cref="UnansweredStreamCalls"/>), once. Allocates nothing for a POST's answer.
/// </summary>
internal static class UnaskedAnswer
{
    /// <summary>
    /// True when the message <paramref name="json"/> (read as <paramref name="view"/>) answers nothing asked. A batch is
    /// checked member by member (on a federated path any batch is: the client sent a member none). <paramref name="isBody"/>:
    /// a JSON answer body, where an error with id null is the upstream's refusal of the HTTP request (an unknown session, a
    /// GET it does not serve): it matches no call, and its status is what the client acts on, so it is not held as unasked.
    /// </summary>
    public static bool Is(Exchange exchange, ReadOnlyMemory<byte> json, in McpResponseView view, bool isBody, UnansweredStreamCalls? unanswered)
    {
        if (view.Kind == McpMessageKind.Batch) return exchange.FederationSession is not null || BatchHoldsUnasked(exchange, json, unanswered);
        if (view.Kind is not (McpMessageKind.Response or McpMessageKind.ErrorResponse)) return false;
        ReadOnlySpan<byte> id = json.Span[view.IdRange];
        // An error's id is empty here only when it is null (McpResponseInspector reads no other message without one).
        if (isBody && view.Kind == McpMessageKind.ErrorResponse && id.IsEmpty) return false;
        return !Asked(exchange, id, unanswered);
    }

    private static bool Asked(Exchange exchange, ReadOnlySpan<byte> id, UnansweredStreamCalls? unanswered)
    {
        if (exchange.HasCall) return Stages.EchoedClientId.Is(exchange, id);
        // No call: a GET stream (or a DELETE's answer). Only a resumed GET may carry an answer, to a call of this caller's.
        if (exchange.Request.Method != FastMcp.Http.HttpMethod.Get || exchange.Request.Headers.Get(KnownHeader.LastEventId).IsEmpty) return false;
        return unanswered is not null && exchange.Route is { } route
            && unanswered.TryTake(route.Name, exchange.Principal, exchange.Request.Headers.Get(KnownHeader.McpSessionId), id);
    }

    /// <summary>A member that answers nothing asked, or one that cannot be read (it might be such an answer): fail closed.</summary>
    private static bool BatchHoldsUnasked(Exchange exchange, ReadOnlyMemory<byte> json, UnansweredStreamCalls? unanswered)
    {
        Span<Range> members = stackalloc Range[McpBatch.MaxMembers];
        if (McpBatch.LocateMembers(json, members, out int count) != McpBatchError.None) return true;
        for (int i = 0; i < count; i++)
        {
            ReadOnlyMemory<byte> member = json[members[i]];
            if (!McpResponseInspector.TryInspect(new ReadOnlySequence<byte>(member), out McpResponseView view) || view.Kind == McpMessageKind.Batch) return true;
            if (view.Kind is McpMessageKind.Response or McpMessageKind.ErrorResponse && !Asked(exchange, member.Span[view.IdRange], unanswered)) return true;
        }
        return false;
    }
}
