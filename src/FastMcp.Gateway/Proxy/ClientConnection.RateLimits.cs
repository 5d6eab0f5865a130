using System.Buffers;
using System.Runtime.CompilerServices;
using FastMcp.Gateway.RateLimiting;
using FastMcp.Mcp;
using FastMcp.Policy;

namespace FastMcp.Gateway.Proxy;

internal sealed partial class ClientConnection
{
    /// <summary>
    /// 429 with Retry-After and a JSON-RPC error (id null: the body is not read). Counted here; recorded in aggregate
    /// by the <see cref="RateLimitRecorder"/>, not one durable record per refused request.
    /// </summary>
    private ValueTask<bool> RateLimitedAsync(RateLimitScope scope, int retryAfterSeconds, bool closeAfter)
    {
        Interlocked.Increment(ref _rt.RateLimits.Refused[(int)scope]);
        Span<byte> header = stackalloc byte[32];
        "Retry-After: "u8.CopyTo(header);
        retryAfterSeconds.TryFormat(header[13..], out int digits);
        "\r\n"u8.CopyTo(header[(13 + digits)..]);
        ReadOnlySpan<byte> message = scope == RateLimitScope.ClientAddress
            ? "rate limit exceeded: too many requests from this client address"u8
            : "rate limit exceeded: too many requests for this subject"u8;
        return AnswerAsync(429, JsonRpcErrorCodes.RateLimited, message, closeAfter, header[..(15 + digits)]);
    }

    /// <summary>Takes one call from the budget of the allow rule that decided it, when that rule has one. False: past it.</summary>
    private bool TakeRuleBudget(in PolicyDecision decision)
    {
        if (decision is not { Action: PolicyAction.Allow, Rule: { RateLimitPerMinute: > 0 } rule }) return true;
        if (_rt.RateLimits.ForRule(rule).TryTake(_exchange.Principal!.Subject, out _ruleRetryAfter)) return true;
        Interlocked.Increment(ref _rt.RateLimits.Refused[(int)RateLimitScope.Rule]);
        return false;
    }

    private int _ruleRetryAfter;

    /// <summary>429 for a call past its rule's budget: the body was read, so the JSON-RPC error carries the request's id.</summary>
    [AsyncMethodBuilder(typeof(Async.PooledValueTaskMethodBuilder<>))]
    private async ValueTask<bool> RuleRateLimitedAsync(ReadOnlySequence<byte> body)
    {
        _exchange.ResponseStatus = 429;
        WriteRuleRateLimited(body);
        await FlushToClientAsync().ConfigureAwait(false);
        return true;
    }

    private void WriteRuleRateLimited(in ReadOnlySequence<byte> body)
    {
        Span<byte> header = stackalloc byte[32];
        "Retry-After: "u8.CopyTo(header);
        _ruleRetryAfter.TryFormat(header[13..], out int digits);
        "\r\n"u8.CopyTo(header[(13 + digits)..]);
        Range id = _exchange.Call.Kind == McpMessageKind.Batch ? default : _exchange.Call.IdRange;
        GatewayResponses.WriteJsonRpcError(_output, _scratch, 429, body, id, JsonRpcErrorCodes.RateLimited,
            "rate limit exceeded: too many calls allowed by this policy rule for this subject"u8, close: ClosesAfterExchange, header[..(15 + digits)]);
    }
}
