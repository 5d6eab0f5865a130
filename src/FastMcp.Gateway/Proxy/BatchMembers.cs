using System.Buffers;
using FastMcp.Gateway.Buffers;
using FastMcp.Mcp;
using FastMcp.Policy;

namespace FastMcp.Gateway.Proxy;

/// <summary>
/// The members of the JSON-RPC batch a connection is handling (MCP 2025-03-26): where each one is
/// in the body, what it says, what the policy decided, and the ids of its requests, so that each
/// answer can be matched to the request it answers (list results are filtered by that request's
/// method). One instance per connection, made on its first batch and reused.
/// </summary>
internal sealed class BatchMembers : IDisposable
{
    private readonly Range[] _idRanges = new Range[McpBatch.MaxMembers];
    private readonly PooledBufferWriter _ids = new(256);

    /// <summary>Each member's bytes: offsets into the request body.</summary>
    public readonly Range[] Ranges = new Range[McpBatch.MaxMembers];

    /// <summary>Each member's view; its ranges are offsets into that member's own bytes.</summary>
    public readonly McpCall[] Calls = new McpCall[McpBatch.MaxMembers];

    /// <summary>The policy's decision for each request and notification member.</summary>
    public readonly PolicyDecision[] Decisions = new PolicyDecision[McpBatch.MaxMembers];

    public int Count;

    /// <summary>True when a request member asks for a list the policy filters.</summary>
    public bool HasListRequest;

    /// <summary>True once <see cref="Decisions"/> hold the policy's decisions (there is a policy stage).</summary>
    public bool Decided;

    public void Reset()
    {
        Count = 0;
        HasListRequest = false;
        Decided = false;
        _ids.Clear();
        Array.Clear(_idRanges);
        Array.Clear(Decisions);
    }

    /// <summary>The bytes of member <paramref name="index"/> of <paramref name="body"/>.</summary>
    public ReadOnlySequence<byte> Member(in ReadOnlySequence<byte> body, int index)
    {
        (int offset, int length) = Ranges[index].GetOffsetAndLength(int.MaxValue);
        return body.Slice(offset, length);
    }

    /// <summary>
    /// Keeps a copy of request member <paramref name="index"/>'s id. Returns the index of an earlier
    /// request with the same id (peers could not tell their answers apart), or -1.
    /// </summary>
    public int AddRequestId(int index, in ReadOnlySequence<byte> member)
    {
        ref McpCall call = ref Calls[index];
        (int offset, int length) = call.IdRange.GetOffsetAndLength(int.MaxValue);
        int start = _ids.WrittenCount;
        foreach (ReadOnlyMemory<byte> segment in member.Slice(offset, length)) _ids.Write(segment.Span);
        _idRanges[index] = new Range(start, _ids.WrittenCount);
        HasListRequest |= McpMethods.IsFilterableList(call.Method);
        ReadOnlySpan<byte> id = _ids.WrittenSpan[_idRanges[index]];
        for (int i = 0; i < index; i++)
        {
            if (!McpCall.IsEmpty(_idRanges[i]) && McpBatch.SameId(_ids.WrittenSpan[_idRanges[i]], id)) return i;
        }
        return -1;
    }

    /// <summary>
    /// Finds the request an answer with raw id <paramref name="answerId"/> belongs to. False when it
    /// answers none of them. <paramref name="listMethod"/> is the list method to filter the answer
    /// by, or <see cref="McpMethod.Unknown"/> when that request is not a filtered list.
    /// </summary>
    public bool TryMatchAnswer(ReadOnlySpan<byte> answerId, out McpMethod listMethod)
    {
        listMethod = McpMethod.Unknown;
        for (int i = 0; i < Count; i++)
        {
            if (McpCall.IsEmpty(_idRanges[i]) || !McpBatch.SameId(_ids.WrittenSpan[_idRanges[i]], answerId)) continue;
            if (McpMethods.IsFilterableList(Calls[i].Method)) listMethod = Calls[i].Method;
            return true;
        }
        return false;
    }

    /// <summary>Request member <paramref name="index"/>'s raw id token as sent; empty for other members.</summary>
    public ReadOnlySpan<byte> RequestId(int index) => McpCall.IsEmpty(_idRanges[index]) ? default : _ids.WrittenSpan[_idRanges[index]];

    /// <summary>True when a request member's id is exactly <paramref name="id"/>, byte for byte (Stages/EchoedClientId.cs).</summary>
    public bool HasRequestIdBytes(ReadOnlySpan<byte> id)
    {
        for (int i = 0; i < Count; i++)
        {
            if (!McpCall.IsEmpty(_idRanges[i]) && _ids.WrittenSpan[_idRanges[i]].SequenceEqual(id)) return true;
        }
        return false;
    }

    /// <summary>Between exchanges: hold no id buffer while the connection waits.</summary>
    public void Release() => _ids.Release();

    public void Dispose() => _ids.Dispose();
}
