using System.Text;
using FastMcp.Http;

namespace FastMcp.Gateway.Forwarding;

/// <summary>
/// An upstream's forwardHeaders, compiled once: which of the client's header fields beyond MCP's own reach that
/// upstream. An allowlist, because a denylist cannot name every field an upstream might authenticate by (X-Api-Key,
/// Private-Token, X-Vault-Token…): a client's key would make the upstream act as whoever it belongs to while the audit
/// log names the verified caller. Checking a field compares bytes against the compiled names: nothing is allocated.
/// </summary>
internal sealed class ForwardedHeaderAllowlist
{
    private readonly byte[][] _exact;
    private readonly byte[][] _prefixes;
    private readonly bool _all;

    private ForwardedHeaderAllowlist(List<string>? source, byte[][] exact, byte[][] prefixes, bool all)
    {
        Source = source;
        _exact = exact;
        _prefixes = prefixes;
        _all = all;
    }

    /// <summary>Passes none of the client's other fields: the default, and every federated path.</summary>
    public static ForwardedHeaderAllowlist None { get; } = new(null, [], [], false);

    /// <summary>The list this was compiled from (a reload puts a new list in the options; the pool recompiles then).</summary>
    public List<string>? Source { get; }

    /// <summary>Compiles validated patterns: exact names, "Prefix*", or "*".</summary>
    public static ForwardedHeaderAllowlist Compile(List<string> patterns)
    {
        var exact = new List<byte[]>();
        var prefixes = new List<byte[]>();
        bool all = false;
        foreach (string pattern in patterns)
        {
            if (pattern == "*") all = true;
            else if (pattern.EndsWith('*')) prefixes.Add(Encoding.ASCII.GetBytes(pattern[..^1]));
            else exact.Add(Encoding.ASCII.GetBytes(pattern));
        }
        return new ForwardedHeaderAllowlist(patterns, [.. exact], [.. prefixes], all);
    }

    /// <summary>Names no field: nothing beyond MCP's own passes (the common case, checked before looking at any field).</summary>
    public bool AllowsNone => !_all && _exact.Length == 0 && _prefixes.Length == 0;

    /// <summary>True when the operator lets a client field of this name through (any letter case).</summary>
    public bool Allows(ReadOnlySpan<byte> name)
    {
        if (_all) return true;
        foreach (byte[] e in _exact)
        {
            if (e.Length == name.Length && Ascii.EqualsIgnoreCase(name, e)) return true;
        }
        foreach (byte[] p in _prefixes)
        {
            if (name.Length >= p.Length && Ascii.EqualsIgnoreCase(name[..p.Length], p)) return true;
        }
        return false;
    }

    /// <summary>
    /// The fields MCP's Streamable HTTP transport defines (and the media-type fields it negotiates), plus User-Agent:
    /// always passed, whatever forwardHeaders says. User-Agent carries no authority and is what upstream logs use to
    /// tell clients apart.
    /// </summary>
    public static bool IsProtocolField(KnownHeader kind, ReadOnlySpan<byte> name) => kind switch
    {
        KnownHeader.Accept or KnownHeader.ContentType or KnownHeader.McpSessionId or KnownHeader.McpProtocolVersion
            or KnownHeader.McpMethod or KnownHeader.McpName or KnownHeader.LastEventId => true,
        KnownHeader.Other => Stages.MirroredHeaderMasking.IsParamHeader(name) || (name.Length == 10 && Ascii.EqualsIgnoreCase(name, "User-Agent"u8)),
        _ => false,
    };
}
