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
/// entries the caller may use, so nobody sees a tool they may not call. A result that cannot be
/// filtered is replaced by an error rather than passed on whole (fail closed).
/// </summary>
internal sealed class ListFiltering(PolicyAuthorization authorization) : IResponseTransform
{
    private readonly PooledBufferWriter _filtered = new(8 * 1024);

    public void Apply(Exchange exchange, PooledBufferWriter message, bool isEvent)
    {
        if (!exchange.HasCall || !McpMethods.IsFilterableList(exchange.Call.Method) || exchange.Principal is null) return;
        Span<byte> all = message.WrittenSpan;
        Range data = Range.All;
        if (isEvent && !SseEvent.TryGetSingleData(all, out data)) return; // comments, priming events: no JSON to filter
        ReadOnlySequence<byte> json = new(message.WrittenMemory[data]);
        if (!McpResponseInspector.TryInspect(json, out McpResponseView view) || view.Kind != McpMessageKind.Response) return;

        var filter = new VisibilityFilter(authorization.Engine, exchange.Principal);
        _filtered.Clear();
        (int start, int length) = data.GetOffsetAndLength(all.Length);
        _filtered.Write(all[..start]);
        if (ListResultFilter.TryFilter(json, exchange.Call.Method, ref filter, _filtered, out int removed))
        {
            exchange.ListEntriesRemoved += removed;
        }
        else
        {
            _filtered.Clear();
            _filtered.Write(all[..start]);
            JsonRpcErrorWriter.Write(_filtered, json, view.IdRange, JsonRpcErrorCodes.InternalError, "list result could not be filtered by policy"u8);
        }
        _filtered.Write(all[(start + length)..]);
        message.Clear();
        message.Write(_filtered.WrittenSpan);
        _filtered.TrimTo(64 * 1024);
    }

    private readonly struct VisibilityFilter(PolicyEngine engine, Principal principal) : IListEntryFilter
    {
        public bool Keep(McpMethod listMethod, scoped ReadOnlySpan<byte> nameUtf8) =>
            engine.IsVisible(principal, CallMethod(listMethod), nameUtf8);

        private static ReadOnlySpan<byte> CallMethod(McpMethod listMethod) => listMethod switch
        {
            McpMethod.ToolsList => "tools/call"u8,
            McpMethod.PromptsList => "prompts/get"u8,
            _ => "resources/read"u8,
        };
    }
}
