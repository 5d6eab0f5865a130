using System.Text.Json;
using FastMcp.Identity;
using FastMcp.Mcp;
using FastMcp.Policy;

namespace FastMcp.Gateway.Stages;

/// <summary>
/// MCP 2026-07-28 has no server-to-client requests on the wire: a server that needs the client's LLM, the user or the
/// roots answers with <c>result.resultType</c> "input_required" and puts its requests in <c>result.inputRequests</c>
/// (an object: key → {method, params}). Each is decided by policy.serverRequests like a session-era server request;
/// the first denied one decides the answer. An entry the gateway cannot read is denied (fail closed).
/// </summary>
internal static class InputRequestsDecision
{
    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = McpInspector.MaxDepth };

    /// <summary>True when the answer's <c>result.resultType</c> token (<paramref name="view"/> over <paramref name="json"/>) is "input_required".</summary>
    public static bool RequiresInput(ReadOnlySpan<byte> json, in McpResponseView view)
    {
        if (view.Kind != McpMessageKind.Response || McpCall.IsEmpty(view.ResultTypeRange)) return false;
        Span<byte> value = stackalloc byte[32];
        int n = McpInspector.CopyUnescaped(json, view.ResultTypeRange, value);
        return n > 0 && value[..n].SequenceEqual("input_required"u8);
    }

    /// <summary>
    /// Decides every entry of <c>result.inputRequests</c>. True: one is denied (the first: <paramref name="denial"/>, its
    /// method in <paramref name="method"/>, null when the entry could not be read); false when every entry is allowed.
    /// </summary>
    public static bool FindDenied(ServerRequestPolicy policy, Principal principal, ReadOnlySpan<byte> json, string? upstream, out PolicyDecision denial, out string? method)
    {
        denial = Decide(policy, principal, json, upstream, out method, out bool denied);
        return denied;
    }

    private static PolicyDecision Decide(ServerRequestPolicy policy, Principal principal, ReadOnlySpan<byte> json, string? upstream, out string? method, out bool denied)
    {
        method = null;
        denied = true;
        try
        {
            var reader = new Utf8JsonReader(json, ReaderOptions);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return ServerRequestPolicy.RefuseUnreadable();
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                bool isResult = reader.ValueTextEquals("result"u8);
                reader.Read();
                if (!isResult || reader.TokenType != JsonTokenType.StartObject)
                {
                    reader.Skip();
                    continue;
                }
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    bool isRequests = reader.ValueTextEquals("inputRequests"u8);
                    reader.Read();
                    if (!isRequests)
                    {
                        reader.Skip();
                        continue;
                    }
                    if (reader.TokenType != JsonTokenType.StartObject) return ServerRequestPolicy.RefuseUnreadable();
                    while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                    {
                        reader.Read();
                        PolicyDecision decision = DecideEntry(policy, principal, json, ref reader, upstream, out method);
                        if (decision.Action != PolicyAction.Allow) return decision;
                    }
                }
            }
            method = null;
            denied = false;
            return default;
        }
        catch (JsonException)
        {
            return ServerRequestPolicy.RefuseUnreadable();
        }
    }

    /// <summary>One entry, the reader on its value: {method, params}; anything else is unreadable.</summary>
    private static PolicyDecision DecideEntry(ServerRequestPolicy policy, Principal principal, ReadOnlySpan<byte> json, ref Utf8JsonReader reader, string? upstream,
        out string? method)
    {
        method = null;
        if (reader.TokenType != JsonTokenType.StartObject) return ServerRequestPolicy.RefuseUnreadable();
        Span<byte> methodBuffer = stackalloc byte[McpCallDecision.MaxMethodBytes];
        int methodLength = -1;
        Range parameters = default;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            bool isMethod = reader.ValueTextEquals("method"u8);
            bool isParams = !isMethod && reader.ValueTextEquals("params"u8);
            reader.Read();
            if (isMethod)
            {
                if (reader.TokenType != JsonTokenType.String) return ServerRequestPolicy.RefuseUnreadable();
                // A method too long to hold would match no method-scoped rule: refused, as a client's call is.
                if ((reader.HasValueSequence ? reader.ValueSequence.Length : reader.ValueSpan.Length) > methodBuffer.Length) return PolicyEngine.RefuseOverlongName();
                methodLength = reader.CopyString(methodBuffer);
            }
            else if (isParams && reader.TokenType == JsonTokenType.StartObject)
            {
                int start = (int)reader.TokenStartIndex;
                reader.Skip();
                parameters = new Range(start, (int)reader.BytesConsumed);
            }
            else
            {
                reader.Skip();
            }
        }
        if (methodLength < 0) return ServerRequestPolicy.RefuseUnreadable();
        PolicyDecision decision = policy.Decide(principal, methodBuffer[..methodLength], McpCall.IsEmpty(parameters) ? default : json[parameters], upstream);
        if (decision.Action != PolicyAction.Allow) method = System.Text.Encoding.UTF8.GetString(methodBuffer[..methodLength]);
        return decision;
    }
}
