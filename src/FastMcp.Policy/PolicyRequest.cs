using System.Net;
using FastMcp.Identity;

namespace FastMcp.Policy;

/// <summary>What the policy looks at: who, which MCP method, which tool/prompt/resource, with which arguments.
/// Spans over the request buffer, so building one copies nothing.</summary>
public readonly ref struct PolicyRequest
{
    /// <param name="nameUtf8">params.name for tools/call and prompts/get, params.uri for resources/read; empty otherwise.</param>
    /// <param name="argumentsJson">The raw JSON of params.arguments (empty when absent).</param>
    public PolicyRequest(Principal principal, ReadOnlySpan<byte> methodUtf8, ReadOnlySpan<byte> nameUtf8, ReadOnlySpan<byte> argumentsJson)
        : this(principal, methodUtf8, nameUtf8, argumentsJson, null)
    {
    }

    /// <param name="upstream">The name of the upstream the call goes to (rules with "upstreams" compare it); null: none named.</param>
    public PolicyRequest(Principal principal, ReadOnlySpan<byte> methodUtf8, ReadOnlySpan<byte> nameUtf8, ReadOnlySpan<byte> argumentsJson, string? upstream)
        : this(principal, methodUtf8, nameUtf8, argumentsJson, upstream, default)
    {
    }

    /// <param name="query">The request target's query, the text after '?' as sent (still percent-encoded); a leading '?' is
    /// dropped. Empty: none. Rules with query conditions read it.</param>
    public PolicyRequest(Principal principal, ReadOnlySpan<byte> methodUtf8, ReadOnlySpan<byte> nameUtf8, ReadOnlySpan<byte> argumentsJson, string? upstream,
        ReadOnlySpan<byte> query)
    {
        Query = QueryText.WithoutQuestionMark(query);
        Upstream = upstream;
        ArgumentNullException.ThrowIfNull(principal);
        Principal = principal;
        Method = methodUtf8;
        Name = nameUtf8;
        Arguments = argumentsJson;
    }

    public Principal Principal { get; }
    public ReadOnlySpan<byte> Method { get; }
    public ReadOnlySpan<byte> Name { get; }
    public ReadOnlySpan<byte> Arguments { get; }
    public string? Upstream { get; }
    public ReadOnlySpan<byte> Query { get; }

    /// <summary>Where the call comes from: the client address the gateway resolved (clientAddress; the audit's origin.address),
    /// IPv4 clients as IPv4. Rules with "addresses" compare it; null (unknown) matches no allow rule that sets them.</summary>
    public IPAddress? Address { get; init; }

    /// <summary>
    /// The call had arguments that are not given (<see cref="Arguments"/> is empty): the first rule that matches on everything
    /// else and reads arguments refuses the call with the built-in (arguments-not-kept) rule instead of being guessed.
    /// </summary>
    public bool ArgumentsWithheld { get; init; }

    /// <summary>
    /// A card-number scan of the message <see cref="Arguments"/> was taken from (null: none), which containsCardNumber reads
    /// for an object or array instead of scanning it again; <see cref="ArgumentsOffset"/> is where the arguments start in it.
    /// </summary>
    public FastMcp.Pan.MessageCardScan? Cards { get; init; }

    /// <summary>The byte offset of <see cref="Arguments"/> in the message <see cref="Cards"/> scanned.</summary>
    public int ArgumentsOffset { get; init; }

    /// <summary>
    /// <see cref="Arguments"/> were read whole as JSON already (the gateway's inspector, whose reader is no more lenient
    /// and no shallower than the policy's): a condition on the whole arguments (pointer "") that would only step over them
    /// to find their end reads them as they are. Arguments that do not start and end as one object or array are read as before.
    /// </summary>
    public bool ArgumentsWellFormed { get; init; }

    /// <summary>The instant to decide at; null: the engine's clock now. Rules with "time" compare it.</summary>
    public DateTimeOffset? At { get; init; }
}
