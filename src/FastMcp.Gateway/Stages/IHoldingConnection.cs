using System.Buffers;
using System.IO.Pipelines;
using FastMcp.Gateway.Buffers;
using FastMcp.Gateway.Forwarding;
using FastMcp.Gateway.Proxy;
using FastMcp.Http;

namespace FastMcp.Gateway.Stages;

/// <summary>What the hold stage (<see cref="ApprovalHold"/>) uses of the client connection whose exchange it holds.</summary>
internal interface IHoldingConnection
{
    GatewayRuntime Runtime { get; }
    Exchange Exchange { get; }
    HttpRequestHead Request { get; }
    PipeWriter Output { get; }

    /// <summary>Flushes <see cref="Output"/> within timeouts.clientWriteMs (a client that reads nothing loses the connection).</summary>
    ValueTask<FlushResult> FlushToClientAsync();
    PooledBufferWriter Scratch { get; }
    AuditRecording.Scratch AuditScratch { get; }
    string RemoteAddress { get; }

    /// <summary>Refuses the call with a JSON-RPC error (recorded as a denial).</summary>
    ValueTask<bool> RefuseAsync(ReadOnlySequence<byte> body, ReadOnlySequence<byte> recorded, int status, int code, byte[] message, string reason);

    /// <summary>Records the request before it is forwarded (strict audit); false when it was refused for an audit outage.</summary>
    ValueTask<bool> RecordRequestOrRefuseAsync(ReadOnlySequence<byte> recorded);

    /// <summary>Answers 503 for an audit outage.</summary>
    ValueTask<bool> AuditUnavailableAsync(ReadOnlySequence<byte> body);

    /// <summary>
    /// Forwards the request and relays the answer as a response of its own; an exchange carrying an approval is marked
    /// executed as soon as the forward has an outcome, before the client can see it.
    /// </summary>
    ValueTask<bool> ForwardAsync(ReadOnlySequence<byte> body);

    /// <summary>Forwards the request and relays the answer into the event stream already open to the client (an approval is marked executed once the upstream answers).</summary>
    ValueTask<(bool Sent, ForwardingError Error, bool MustClose)> ForwardIntoOpenStreamAsync(ReadOnlySequence<byte> body, bool chunked);

    /// <summary>Moves the body out of the client pipe so the pipe can be watched; returns the body to use.</summary>
    ReadOnlySequence<byte> TakeBodyOutOfPipe(ReadOnlySequence<byte> body);

    /// <summary>True when the client closed its side; false when it sent more bytes or the watch was stopped.</summary>
    Task<bool> WatchForClientLeavingAsync();

    /// <summary>Ends a pending watch (its task then completes with false).</summary>
    void StopWatchingClient();

    /// <summary>
    /// The held call decided again under the policy in force (a reload may have changed it while the call waited), on the
    /// call as the client sent it and for the upstream it was held for; null when there is no policy.
    /// </summary>
    FastMcp.Policy.PolicyDecision? DecideHeldCallAgain();

    /// <summary>
    /// The held call's token checked again, under the identity configuration in force, before the approved call is
    /// forwarded (Authentication.ReauthenticateHeldAsync, with the connection's client certificate); null without a
    /// token to check (no Authentication stage, or anonymous mode).
    /// </summary>
    ValueTask<FastMcp.Identity.AuthResult?> ReauthenticateHeldCallerAsync();

    /// <summary>Drops what was kept of the held call for <see cref="DecideHeldCallAgain"/>, when it is refused before that.</summary>
    void ForgetHeldCall();

    /// <summary>The exchange waits on this hold-mode approval: a stop lets its refusal reach the client (GatewayHost.StopAsync).</summary>
    void Holds(Approvals.PendingApproval approval);
}
