using FastMcp.Identity;
using FastMcp.Mcp;
using FastMcp.Policy;

namespace FastMcp.Gateway.Stages;

/// <summary>
/// policy.serverRequests applied to one request an upstream sent the client: its method (unescaped), its params object,
/// the upstream that sent it, and the caller whose stream carries it. Allocates nothing.
/// </summary>
internal static class ServerRequestDecision
{
    /// <param name="json">the message as the upstream sent it (before any stage rewrote it); <paramref name="view"/> is over it</param>
    public static PolicyDecision Decide(ServerRequestPolicy policy, Principal principal, ReadOnlySpan<byte> json, in McpResponseView view, string? upstream)
    {
        Span<byte> methodBuffer = stackalloc byte[McpCallDecision.MaxMethodBytes];
        scoped ReadOnlySpan<byte> method;
        if (view.Method != McpMethod.Unknown)
        {
            method = McpMethods.NameUtf8(view.Method);
        }
        else
        {
            int n = McpInspector.CopyUnescaped(json, view.MethodRange, methodBuffer);
            // A method too long to hold would match no method-scoped deny rule: refused instead, as client calls are.
            if (n < 0) return PolicyEngine.RefuseOverlongName();
            method = methodBuffer[..n];
        }
        ReadOnlySpan<byte> parameters = McpCall.IsEmpty(view.ParamsRange) ? default : json[view.ParamsRange];
        return policy.Decide(principal, method, parameters, upstream);
    }
}
