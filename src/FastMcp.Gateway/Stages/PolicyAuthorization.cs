using System.Buffers;
using System.Net;
using FastMcp.Gateway.Buffers;
using FastMcp.Identity;
using FastMcp.Mcp;
using FastMcp.Policy;

namespace FastMcp.Gateway.Stages;

/// <summary>
/// May they: the compiled policy (FastMcp.Policy) decides each inspected call. The engine is
/// swapped atomically on a configuration reload; a decision uses the engine it started with.
/// </summary>
internal sealed class PolicyAuthorization
{
    private const int MaxNameBytes = McpCallDecision.MaxNameBytes;
    private const int MaxMethodBytes = McpCallDecision.MaxMethodBytes;
    private PolicyEngine _engine;

    public PolicyAuthorization(PolicyEngine engine) => _engine = engine;

    public PolicyEngine Engine => Volatile.Read(ref _engine);

    /// <summary>The clock the engines decide "time" conditions by; a reload compiles the new engine with it too.</summary>
    public TimeProvider Clock { get; init; } = TimeProvider.System;

    public void Swap(PolicyEngine engine) => Volatile.Write(ref _engine, engine);

    /// <summary>Tool definition pinning (null when every upstream's mode is off): a tools/call it does not admit is refused here.</summary>
    public FastMcp.Gateway.ToolPins.ToolPinning? ToolPins { get; init; }

    /// <summary>Decides one message. <paramref name="scratch"/> holds arguments that span pipe segments.</summary>
    /// <paramref name="upstream"/> is the name of the route's upstream (rules with "upstreams" compare it); <paramref name="query"/>
    /// the request target's query as the client sent it (rules with "query" read it); <paramref name="address"/> the client address
    /// (the exchange's ClientAddress; rules with "addresses" compare it, and an unknown one matches no allow rule that sets them).
    /// <paramref name="cards"/>: the request's one card-number scan, when it was made of
    /// <paramref name="body"/>; containsCardNumber then reads it instead of scanning the arguments again.
    [System.Runtime.CompilerServices.SkipLocalsInit] // the name and method buffers are read only where written
    public PolicyDecision Decide(Principal principal, in McpCall call, in ReadOnlySequence<byte> body, PooledBufferWriter scratch, string? upstream,
        ReadOnlySpan<byte> query, IPAddress? address, FastMcp.Pan.MessageCardScan? cards = null)
    {
        // A method or name too long to hold would be matched as "none", which no name-scoped deny rule
        // matches: such a call is refused instead (docs/policy.md, built-in rules).
        Span<byte> methodBuffer = stackalloc byte[MaxMethodBytes];
        scoped ReadOnlySpan<byte> method;
        if (call.Method != McpMethod.Unknown)
        {
            method = McpMethods.NameUtf8(call.Method);
        }
        else
        {
            int n = McpInspector.CopyUnescaped(body, call.MethodRange, methodBuffer);
            if (n < 0) return PolicyEngine.RefuseOverlongName();
            method = methodBuffer[..n];
        }

        Span<byte> nameBuffer = stackalloc byte[MaxNameBytes];
        scoped ReadOnlySpan<byte> name = default;
        if (call.HasName)
        {
            // A name the inspector read without escapes is its token's bytes between the quotes: no reader, no copy.
            if (!call.NameHasEscapes && UnescapedToken(body, call.NameRange) is { IsEmpty: false } raw)
            {
                if (raw.Length - 2 > MaxNameBytes) return PolicyEngine.RefuseOverlongName();
                name = raw[1..^1];
            }
            else
            {
                int n = McpInspector.CopyUnescaped(body, call.NameRange, nameBuffer);
                if (n < 0) return PolicyEngine.RefuseOverlongName();
                name = nameBuffer[..n];
            }
        }

        ReadOnlySpan<byte> arguments = default;
        if (call.HasArguments)
        {
            ReadOnlySequence<byte> args = body.Slice(call.ArgumentsRange.Start.Value, call.ArgumentsRange.End.Value - call.ArgumentsRange.Start.Value);
            if (args.IsSingleSegment)
            {
                arguments = args.FirstSpan;
            }
            else
            {
                scratch.Clear();
                foreach (ReadOnlyMemory<byte> m in args) scratch.Write(m.Span);
                arguments = scratch.WrittenSpan;
            }
        }
        // Resource URIs are normalized there (RFC 3986 section 6), exactly as `fastmcp policy test` does.
        PolicyEngine engine = Engine;
        // The arguments are the object the inspector read whole from this body (McpCall.ArgumentsRange): well formed.
        PolicyDecision decision = McpCallDecision.Decide(engine, principal, method, name, arguments, upstream, query, address,
            cards: call.HasArguments && cards is not null && cards.Holds((int)body.Length) ? cards : null, argumentsOffset: call.ArgumentsRange.Start.Value,
            argumentsWellFormed: call.HasArguments);
        // A call the policy lets through (or holds for approval) still needs a reviewed tool where pins are enforced.
        if (decision.Action != PolicyAction.Deny && call.Method == McpMethod.ToolsCall
            && ToolPins?.For(upstream) is { Mode: FastMcp.Gateway.ToolPins.ToolPinMode.Enforce } pins)
        {
            FastMcp.Gateway.ToolPins.ToolVerdict verdict = call.HasName ? pins.Verdict(name) : FastMcp.Gateway.ToolPins.ToolVerdict.NotPinned;
            if (verdict == FastMcp.Gateway.ToolPins.ToolVerdict.NotPinned) return PolicyEngine.RefuseToolNotPinned();
            if (verdict == FastMcp.Gateway.ToolPins.ToolVerdict.Changed) return PolicyEngine.RefuseToolDefinitionChanged();
        }
        if (decision.Action != PolicyAction.Allow || call.Method != McpMethod.SubscriptionsListen) return decision;
        // 2026-07-28 subscribes to resources inside subscriptions/listen: each URI is decided as resources/subscribe of it.
        var subscriptions = new SubscriptionDecision(engine, principal, upstream, query, address);
        if (ListenResourceSubscriptions.Walk(body, ref subscriptions)) return decision;
        // A URI the policy does not allow decides the listen; a list that cannot be read (or a URI too long to decide) is refused.
        return subscriptions.Refused ? subscriptions.Refusal : PolicyEngine.RefuseUnreadableSubscriptions();
    }

    /// <summary>
    /// The raw string token at <paramref name="token"/> (quotes included) when it lies in one segment and is a quoted
    /// token; empty otherwise (the caller then unescapes it as before).
    /// </summary>
    private static ReadOnlySpan<byte> UnescapedToken(in ReadOnlySequence<byte> body, Range token)
    {
        if (token.Start.IsFromEnd || token.End.IsFromEnd || !body.IsSingleSegment) return default;
        int start = token.Start.Value, end = token.End.Value;
        ReadOnlySpan<byte> span = body.FirstSpan;
        if (end - start < 2 || end > span.Length) return default;
        ReadOnlySpan<byte> raw = span[start..end];
        return raw[0] == (byte)'"' && raw[^1] == (byte)'"' ? raw : default;
    }

    /// <summary>
    /// A GET (the session's event stream) or DELETE (the end of the session) has no message to decide: it is decided as the
    /// session's initialize would be now, by the same caller on <paramref name="upstream"/> from <paramref name="address"/> with
    /// <paramref name="query"/> (docs/policy.md "GET and DELETE"). Every configuration that lets a caller open a session allows
    /// them initialize, so this admits every stream that works, and refuses callers a reload revoked. Allocates nothing.
    /// </summary>
    public static PolicyDecision DecideSessionRequest(PolicyEngine engine, Principal principal, string? upstream, ReadOnlySpan<byte> query, IPAddress? address) =>
        McpCallDecision.Decide(engine, principal, "initialize"u8, default, default, upstream, query, address);

    /// <summary>Decides each subscribed URI as a resources/subscribe of it; keeps the first decision that is not allow.</summary>
    private ref struct SubscriptionDecision(PolicyEngine engine, Principal principal, string? upstream, ReadOnlySpan<byte> query, IPAddress? address) : IResourceSubscriptionVisitor
    {
        // A span cannot be captured by a primary constructor: kept as a field of this ref struct.
        private readonly ReadOnlySpan<byte> _query = query;
        public PolicyDecision Refusal;
        public bool Refused;

        public bool Visit(scoped ReadOnlySpan<byte> uri)
        {
            PolicyDecision decision = McpCallDecision.Decide(engine, principal, "resources/subscribe"u8, uri, default, upstream, _query, address);
            if (decision.Action == PolicyAction.Allow) return true;
            (Refusal, Refused) = (decision, true);
            return false;
        }
    }

    /// <summary>
    /// The JSON-RPC error code a refusal gets: a query the policy could not read is the caller's malformed input
    /// (-32602, as an unreadable parameter is), every other refusal -32001.
    /// </summary>
    public static int ClientErrorCode(in PolicyDecision decision) =>
        ReferenceEquals(decision.Rule, PolicyEngine.UnreadableQueryRule) ? JsonRpcErrorCodes.InvalidParams : JsonRpcErrorCodes.Forbidden;
}
