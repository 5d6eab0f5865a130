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
    private const int MaxMethodBytes = 256;
    private PolicyEngine _engine;

    public PolicyAuthorization(PolicyEngine engine) => _engine = engine;

    public PolicyEngine Engine => Volatile.Read(ref _engine);

    public void Swap(PolicyEngine engine) => Volatile.Write(ref _engine, engine);

    /// <summary>Decides one message. <paramref name="scratch"/> holds arguments that span pipe segments.</summary>
    public PolicyDecision Decide(Principal principal, in McpCall call, in ReadOnlySequence<byte> body, PooledBufferWriter scratch)
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
            int n = McpInspector.CopyUnescaped(body, call.NameRange, nameBuffer);
            if (n < 0) return PolicyEngine.RefuseOverlongName();
            name = nameBuffer[..n];
            if (call.Method is McpMethod.ResourcesRead or McpMethod.ResourcesSubscribe or McpMethod.ResourcesUnsubscribe)
            {
                // Rules meet one spelling of a resource: file:///tmp/../etc, FILE://localhost/etc and %65tc are /etc.
                Span<byte> normalized = stackalloc byte[MaxNameBytes];
                if (!ResourceUriNormalizer.TryNormalize(name, normalized, out int length)) return PolicyEngine.RefuseUnnormalizableUri();
                normalized[..length].CopyTo(nameBuffer);
                name = nameBuffer[..length];
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
        return Engine.Decide(new PolicyRequest(principal, method, name, arguments));
    }

}
