namespace FastMcp.Gateway.Stages;

/// <summary>
/// The data path, in order: the stages one exchange passes through on a client connection. This is the one place
/// to read the order; docs/architecture.md lists the same stages in the same order (ExchangeStageTests holds the
/// two together). The connection marks the stage it is in on its <see cref="Proxy.Exchange"/> (a byte written, no
/// allocation), so a connection that ends abnormally says where.
/// A route may end early (a refusal answers and records at once) and an event stream interleaves transform and
/// write per event, recording the response when the stream ends; no route skips a stage before forward.
/// </summary>
internal enum ExchangeStage : byte
{
    /// <summary>Transport/SocketListener.cs, Transport/ConnectionSlots.cs: a socket admitted within limits.maxConnections.</summary>
    Accept,
    /// <summary>HeadFramer and HttpRequestHead (FastMcp.Http), Proxy/ClientConnection.cs ReadHeadAsync: one request head, then its body.</summary>
    Frame,
    /// <summary>Stages/OriginGuard.cs: Host and Origin allow-lists.</summary>
    CheckOrigin,
    /// <summary>Stages/Authentication.cs, Stages/FailedAuthenticationLimiter.cs: who is calling.</summary>
    Identify,
    /// <summary>McpInspector (FastMcp.Mcp), Stages/MessageRoute.cs: what the message is, routed by its kind.</summary>
    Inspect,
    /// <summary>Stages/PolicyAuthorization.cs → McpCallDecision and PolicyEngine (FastMcp.Policy).</summary>
    Decide,
    /// <summary>Stages/PanMasking.cs: card numbers in the request masked, forwarded or blocked; then a deny is answered.</summary>
    MaskRequest,
    /// <summary>Stages/ApprovalHold.cs: a call a require_approval rule stopped waits for its approval.</summary>
    Hold,
    /// <summary>Stages/AuditRecording.cs: the request recorded (durably, in strict mode) before it is forwarded.</summary>
    RecordRequest,
    /// <summary>Forwarding/Forwarder.cs over Upstream/UpstreamPool.cs.</summary>
    Forward,
    /// <summary>Forwarding/ResponseRelay.cs through the IResponseTransform stages: list filtering, then PAN masking.</summary>
    Transform,
    /// <summary>IResponseGate → Stages/AuditRecording.cs: the response recorded before it is released.</summary>
    RecordResponse,
    /// <summary>Forwarding/ResponseRelay.cs: written to the client within limits.maxBufferedResponseBytes and timeouts.clientWriteMs.</summary>
    Write,
}

internal static class ExchangeStages
{
    /// <summary>The stage as docs/architecture.md names it (and the logs say it).</summary>
    public static string Name(ExchangeStage stage) => stage switch
    {
        ExchangeStage.Accept => "accept",
        ExchangeStage.Frame => "frame",
        ExchangeStage.CheckOrigin => "check origin",
        ExchangeStage.Identify => "identify",
        ExchangeStage.Inspect => "inspect",
        ExchangeStage.Decide => "decide",
        ExchangeStage.MaskRequest => "mask the request",
        ExchangeStage.Hold => "hold",
        ExchangeStage.RecordRequest => "record the request",
        ExchangeStage.Forward => "forward",
        ExchangeStage.Transform => "transform the response",
        ExchangeStage.RecordResponse => "record the response",
        ExchangeStage.Write => "write",
        _ => "unknown",
    };
}
