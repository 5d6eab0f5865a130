using System.Text;
using FastMcp.Gateway.Upstream;

namespace FastMcp.Gateway.Federation;

/// <summary>
/// One path in front of several upstreams (a route with "federate"): the gateway holds the MCP session itself, merges
/// the lists of every member with "name + separator" in front of tool and prompt names, and routes each call to the
/// member its prefix names (docs/configuration.md, "Routes and federation").
/// </summary>
internal sealed class FederatedRoute
{
    public FederatedRoute(string path, string separator, UpstreamRoute[] members, int maxSessions, int maxSessionsPerCaller)
    {
        PathText = path;
        AuditUpstream = "federation:" + path;
        Path = Encoding.ASCII.GetBytes(path);
        Separator = separator;
        Members = members;
        Prefixes = new string[members.Length];
        for (int i = 0; i < members.Length; i++) Prefixes[i] = members[i].Name + separator;
        Sessions = new FederationSessions(maxSessions, maxSessionsPerCaller, members.Length);
    }

    public string PathText { get; }

    /// <summary>What a record of the gateway's own answer on this path names as its upstream (made once, not per record).</summary>
    public string AuditUpstream { get; }

    public byte[] Path { get; }
    public string Separator { get; }

    /// <summary>The upstreams merged here, in configuration order (each with its own pool, credential and health).</summary>
    public UpstreamRoute[] Members { get; }

    /// <summary>"name + separator" of each member, in the same order.</summary>
    public string[] Prefixes { get; }

    public FederationSessions Sessions { get; }

    /// <summary>The member whose prefix starts <paramref name="prefixed"/>, and the name without it; -1 when none does.</summary>
    public int MemberOf(string prefixed, out string name)
    {
        for (int i = 0; i < Prefixes.Length; i++)
        {
            if (prefixed.Length > Prefixes[i].Length && prefixed.StartsWith(Prefixes[i], StringComparison.Ordinal))
            {
                name = prefixed[Prefixes[i].Length..];
                return i;
            }
        }
        name = "";
        return -1;
    }
}
