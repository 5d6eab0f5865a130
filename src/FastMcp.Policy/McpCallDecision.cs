using System.Net;
using FastMcp.Identity;

namespace FastMcp.Policy;

/// <summary>
/// How a call is put to the policy, shared by the gateway's policy stage and <c>fastmcp policy test</c> so both
/// decide the same call the same way: a method or name too long to hold is refused by the built-in
/// <c>(overlong-name)</c> rule, and the URI of a resources/read, subscribe or unsubscribe is normalized per
/// RFC 3986 section 6 (<see cref="ResourceUriNormalizer"/>), or refused by <c>(unnormalizable-uri)</c> when it has no single form.
/// </summary>
public static class McpCallDecision
{
    /// <summary>Longest unescaped method name decided (no MCP method comes near it).</summary>
    public const int MaxMethodBytes = 256;

    /// <summary>Longest unescaped tool/prompt name or resource URI decided.</summary>
    public const int MaxNameBytes = 1024;

    /// <summary>True for the methods whose target is <c>params.uri</c>, a resource URI.</summary>
    public static bool TargetsByUri(ReadOnlySpan<byte> method) =>
        method.SequenceEqual("resources/read"u8) || method.SequenceEqual("resources/subscribe"u8) || method.SequenceEqual("resources/unsubscribe"u8);

    /// <summary>True for the methods whose target is <c>params.name</c> (tools/call, prompts/get).</summary>
    public static bool TargetsByName(ReadOnlySpan<byte> method) =>
        method.SequenceEqual("tools/call"u8) || method.SequenceEqual("prompts/get"u8);

    /// <summary>
    /// True for completion/complete, whose target is what <c>params.ref</c> names: a prompt (<c>ref/prompt</c>, its
    /// name) or a resource template (<c>ref/resource</c>, its URI template, compared as written: a template is no URI
    /// to normalize, and servers match it exactly).
    /// </summary>
    public static bool TargetsByReference(ReadOnlySpan<byte> method) => method.SequenceEqual("completion/complete"u8);

    /// <summary>
    /// Decides a call from its unescaped method, its unescaped target (params.name, params.uri for the resource
    /// methods, params.ref's name or URI template for completion/complete; empty for others), its raw arguments JSON and the name of the upstream it goes to (null: none named;
    /// a rule with "upstreams" then never matches).
    /// </summary>
    /// <paramref name="query"/> is the request target's query ('?' included or not; empty: none), read only while a rule has query conditions.
    /// <paramref name="address"/> is the client address the call comes from (null: unknown, which no allow rule with "addresses" matches);
    /// <paramref name="at"/> the instant to decide at (null: the engine's clock now); <paramref name="argumentsWithheld"/>: the call had
    /// arguments that are not given (<see cref="PolicyRequest.ArgumentsWithheld"/>).
    /// <paramref name="cards"/>: a card-number scan of the message the arguments were taken from, at its byte
    /// <paramref name="argumentsOffset"/> (<see cref="PolicyRequest.Cards"/>); null: containsCardNumber scans what it names.
    /// <paramref name="argumentsWellFormed"/>: the arguments were read whole as JSON already (<see cref="PolicyRequest.ArgumentsWellFormed"/>).
    public static PolicyDecision Decide(PolicyEngine engine, Principal principal, ReadOnlySpan<byte> method, ReadOnlySpan<byte> name, ReadOnlySpan<byte> arguments,
        string? upstream = null, ReadOnlySpan<byte> query = default, IPAddress? address = null, DateTimeOffset? at = null, bool argumentsWithheld = false,
        FastMcp.Pan.MessageCardScan? cards = null, int argumentsOffset = 0, bool argumentsWellFormed = false)
    {
        ArgumentNullException.ThrowIfNull(engine);
        if (method.Length > MaxMethodBytes || name.Length > MaxNameBytes) return PolicyEngine.RefuseOverlongName();
        if (!name.IsEmpty && TargetsByUri(method))
        {
            // Rules meet one spelling of a resource: file:///tmp/../etc, FILE://localhost/etc and %65tc are /etc.
            Span<byte> normalized = stackalloc byte[MaxNameBytes];
            if (!ResourceUriNormalizer.TryNormalize(name, normalized, out int length)) return PolicyEngine.RefuseUnnormalizableUri();
            return engine.Decide(new PolicyRequest(principal, method, normalized[..length], arguments, upstream, query) { Address = address, At = at, ArgumentsWithheld = argumentsWithheld, Cards = cards, ArgumentsOffset = argumentsOffset, ArgumentsWellFormed = argumentsWellFormed });
        }
        return engine.Decide(new PolicyRequest(principal, method, name, arguments, upstream, query) { Address = address, At = at, ArgumentsWithheld = argumentsWithheld, Cards = cards, ArgumentsOffset = argumentsOffset, ArgumentsWellFormed = argumentsWellFormed });
    }
}
