using System.Runtime.CompilerServices;

namespace FastMcp.Gateway.Tracing;

/// <summary>
/// What a sampled exchange's spans need beyond the exchange itself: when its traced stages began and ended
/// (Stopwatch timestamps; 0: the stage did not run), the upstream's status, the tool name and the request id. Plain values kept
/// in the exchange and written at stage boundaries on the data path: capturing them allocates nothing, and only a
/// sampled exchange turns them into spans (<see cref="Tracer.Record"/>).
/// </summary>
internal struct StageTimes
{
    public const int MaxToolBytes = 128;
    public const int MaxRequestIdBytes = 64;

    /// <summary>Policy decision.</summary>
    public long DecideStart, DecideEnd;
    /// <summary>Waiting for an approval (require_approval rules in hold mode).</summary>
    public long HoldStart, HoldEnd;
    /// <summary>Waiting for the request's audit record to be durable.</summary>
    public long RecordStart, RecordEnd;
    /// <summary>From sending the request upstream to the upstream's response head.</summary>
    public long ForwardStart, ForwardEnd;
    /// <summary>The upstream's response status (0: none received).</summary>
    public int UpstreamStatus;
    /// <summary>Bytes of the tools/call tool name in <see cref="Tool"/>; 0: none, -1: longer than the buffer.</summary>
    public int ToolLength;
    public ToolBytes Tool;
    /// <summary>Bytes of the JSON-RPC request id in <see cref="RequestId"/> (a string's text, a number's digits); 0: none or longer.</summary>
    public int RequestIdLength;
    public RequestIdBytes RequestId;

    /// <summary>Spans of the stages that ran.</summary>
    public readonly int ChildCount =>
        (DecideStart != 0 ? 1 : 0) + (HoldStart != 0 ? 1 : 0) + (RecordStart != 0 ? 1 : 0) + (ForwardStart != 0 ? 1 : 0);

    [InlineArray(MaxToolBytes)]
    public struct ToolBytes
    {
        private byte _first;
    }

    [InlineArray(MaxRequestIdBytes)]
    public struct RequestIdBytes
    {
        private byte _first;
    }
}
