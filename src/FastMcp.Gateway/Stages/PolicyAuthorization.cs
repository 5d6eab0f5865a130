using System.Buffers;
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
    private const int MaxNameBytes = 1024;
    private PolicyEngine _engine;

    public PolicyAuthorization(PolicyEngine engine) => _engine = engine;

    public PolicyEngine Engine => Volatile.Read(ref _engine);

    public void Swap(PolicyEngine engine) => Volatile.Write(ref _engine, engine);

    /// <summary>Decides one message. <paramref name="scratch"/> holds arguments that span pipe segments.</summary>
    public PolicyDecision Decide(Principal principal, in McpCall call, in ReadOnlySequence<byte> body, PooledBufferWriter scratch)
    {
        Span<byte> methodBuffer = stackalloc byte[128];
        ReadOnlySpan<byte> method = call.Method != McpMethod.Unknown ? McpMethods.NameUtf8(call.Method) : CopyString(body, call.MethodRange, methodBuffer);

        Span<byte> nameBuffer = stackalloc byte[MaxNameBytes];
        scoped ReadOnlySpan<byte> name = default;
        if (call.HasName)
        {
            name = CopyString(body, call.NameRange, nameBuffer);
            // A name too long to hold is matched as no name, which no name-scoped allow rule matches.
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
        return Engine.Decide(new PolicyRequest(principal, method, name, arguments));
    }

    private static ReadOnlySpan<byte> CopyString(scoped in ReadOnlySequence<byte> body, Range token, Span<byte> destination)
    {
        int n = McpInspector.CopyUnescaped(body, token, destination);
        return n < 0 ? default : destination[..n];
    }
}
