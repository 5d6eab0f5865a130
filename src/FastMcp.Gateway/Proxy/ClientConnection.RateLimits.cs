using FastMcp.Gateway.RateLimiting;
using FastMcp.Mcp;

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
}
