using System.Buffers;
using System.Diagnostics;
using FastMcp.Gateway.Stages;
using FastMcp.Http;
using FastMcp.Identity;
using FastMcp.Mcp;
using FastMcp.Policy;

namespace FastMcp.Gateway.Proxy;

/// <summary>
/// The state of one request/response exchange that the stages share. One instance per client
/// connection, reset between requests, so stages pass facts along without allocating.
/// </summary>
internal sealed class Exchange
{
    public Exchange(HttpRequestHead request) => Request = request;

    public HttpRequestHead Request { get; }

    /// <summary>The request body (a view into the client pipe or the connection's decode buffer).</summary>
    public ReadOnlySequence<byte> Body;

    /// <summary>The body as it may be recorded (card numbers masked), once request masking ran; empty before.</summary>
    public ReadOnlySequence<byte> Recorded;

    /// <summary>What the body says, when it was inspected.</summary>
    public McpCall Call;
    public bool HasCall;

    /// <summary>
    /// The call's name as its records hold it (Stages/AuditRecording.cs), read from <see cref="RecordedTargetRange"/> of
    /// <see cref="Recorded"/> (when <see cref="RecordedTargetFromCopy"/>) or of <see cref="Body"/>: an exchange's response
    /// record names what its request record named, without unescaping and looking it up again.
    /// </summary>
    public string? RecordedTarget;
    public Range RecordedTargetRange;
    public bool RecordedTargetFromCopy;

    /// <summary>The members of a JSON-RPC batch (Call.Kind is Batch); null for a single message.</summary>
    public BatchMembers? Batch;

    /// <summary>The route the request path chose: which upstream, its name, pool and credential.</summary>
    public FastMcp.Gateway.Upstream.UpstreamRoute? Route;

    /// <summary>The federated route the request path chose (Route is then the member a message goes to); null otherwise.</summary>
    public FastMcp.Gateway.Federation.FederatedRoute? Federation;

    /// <summary>On a federated path, while a member's answer is relayed: the client's session and the member (server requests in it get the gateway's ids).</summary>
    public FastMcp.Gateway.Federation.FederationSession? FederationSession;
    public int FederationMember;

    /// <summary>On a federated path: the tool or prompt name as the client sent it (prefixed); recorded as the target.</summary>
    public string? ClientTarget;

    /// <summary>The session id lines of sealed sessions (sessions.sealed): what the upstream and the client get instead of what the other sent.</summary>
    public readonly FastMcp.Gateway.Sessions.SealedSessionLines SealedSession = new();

    /// <summary>The body the upstream gets when a sealed task id was opened (tasks.sealed): the upstream's id in its place.</summary>
    public readonly FastMcp.Gateway.Tasks.SealedTaskBody SealedTask = new();

    /// <summary>
    /// The upstream's session id the request names: the one a verified sealed id stands for, else the client's
    /// Mcp-Session-Id as sent. What the session table, the upstream and the audit record see.
    /// </summary>
    public ReadOnlySpan<byte> UpstreamSessionId => SealedSession.Opened ? SealedSession.UpstreamId : Request.Headers.Get(KnownHeader.McpSessionId);

    /// <summary>Who is calling (set by authentication).</summary>
    public Principal? Principal;

    /// <summary>What the policy said (set for inspected requests).</summary>
    public PolicyDecision? Decision;

    /// <summary>The policy engine that made <see cref="Decision"/>: a task the call creates is decided again once another is in force.</summary>
    public FastMcp.Policy.PolicyEngine? DecidedUnder;

    /// <summary>The approval that let this call through (require_approval rules).</summary>
    public FastMcp.Gateway.Approvals.PendingApproval? Approval;

    /// <summary>Card numbers found in the request and in the response.</summary>
    public CardFindings RequestCards;
    public CardFindings ResponseCards;

    /// <summary>The masking in force for this exchange: the default, or the profile the allowing rule picked.</summary>
    public PanMasking? Masking;

    /// <summary>A response's JSON-RPC id is a card-like number left as it is for the client: what is recorded masks it.</summary>
    public bool ResponseIdHoldsCard;

    /// <summary>Masking refused a response: a base64 payload holding a card number could not be masked in place, or JSON it could not read to the end may hold a payload or sensitive member after the stop.</summary>
    public bool ResponseUnmaskable;

    /// <summary>
    /// Masking may have written into the response message in place (a card number, a sensitive value, a payload): a reading
    /// of it taken before is no longer of these bytes (Stages/PanMasking.cs). Cleared by the relay before the stages run.
    /// </summary>
    public bool ResponseMaskedInPlace;

    /// <summary>Task sealing refused a response: it names a task id not bound to the caller here, or cannot be read (Tasks/TaskIdSealing.cs).</summary>
    public bool ResponseUnsealable;

    /// <summary>
    /// Task sealing withheld an event that is a notification naming a task not bound to the caller here (another replica's,
    /// Tasks/TaskIdSealing.cs): the relay drops it, records it and goes on with the stream. Cleared by the relay per event.
    /// </summary>
    public bool TaskNotificationWithheld;

    /// <summary>Where the exchange is on the data path (Stages/ExchangeStage.cs).</summary>
    public ExchangeStage Stage;
    /// <summary>The proxy the request came through when the client is behind one (recorded as origin.hop); else null.</summary>
    public string? ClientHop;

    /// <summary>The client the request is attributed to (clientAddress resolved; origin.address): policy rules with "addresses" compare it.</summary>
    public System.Net.IPAddress? ClientAddress;

    /// <summary>The certificate the client presented at the TLS listener (mutual TLS); null otherwise.</summary>
    public FastMcp.Gateway.Clients.ClientCertificate? ClientCertificate;

    /// <summary>The tools/call's tool label in /metrics (ExchangeMetrics.ToolIndex); -1 for other calls.</summary>
    public int ToolLabel = -1;

    /// <summary>The W3C trace context (Tracing/TraceContext.cs): the client's trace continued, or one started here.</summary>
    public FastMcp.Gateway.Tracing.TraceContext Trace;

    /// <summary>Stage boundaries and facts for the exchange's spans (Tracing/StageTimes.cs).</summary>
    public FastMcp.Gateway.Tracing.StageTimes Times;

    /// <summary>Set when the gateway ended the exchange's event stream because of its token: the end record says why.</summary>
    public StreamEndReason StreamEnd;

    public int ListEntriesRemoved;

    /// <summary>Why a list answer of this exchange could not be filtered (the client's error and the record say it); None otherwise.</summary>
    public ListFilterRefusal ListRefusal;

    /// <summary>What tool pinning found in this exchange's tools/list answer (tools withheld or differing), for its audit record; null when nothing.</summary>
    public string? ToolPinNote;
    public long StartTimestamp;
    public int ResponseStatus;

    public void Reset()
    {
        Body = default;
        Recorded = default;
        Call = default;
        HasCall = false;
        RecordedTarget = null;
        Batch = null;
        Route = null;
        Federation = null;
        FederationSession = null;
        FederationMember = 0;
        ClientTarget = null;
        Principal = null;
        SealedSession.Reset();
        SealedTask.Reset();
        Decision = null;
        DecidedUnder = null;
        Approval = null;
        RequestCards.Reset();
        ResponseCards.Reset();
        ResponseIdHoldsCard = false;
        ResponseUnmaskable = false;
        ResponseMaskedInPlace = false;
        ResponseUnsealable = false;
        TaskNotificationWithheld = false;
        Masking = null;
        ListEntriesRemoved = 0;
        ListRefusal = ListFilterRefusal.None;
        ToolPinNote = null;
        StreamEnd = StreamEndReason.None;
        ResponseStatus = 0;
        Stage = ExchangeStage.Frame;
        ClientHop = null;
        ClientAddress = null;
        ClientCertificate = null;
        ToolLabel = -1;
        Trace = default;
        Times = default;
        StartTimestamp = Stopwatch.GetTimestamp();
    }
}
