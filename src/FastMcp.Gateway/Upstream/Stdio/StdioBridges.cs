using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Hosting;

namespace FastMcp.Gateway.Upstream.Stdio;

/// <summary>
/// Every stdio upstream's bridge (the default one, named ones), by upstream name ("default" for "upstream"), after the
/// runAs start-up checks of all of them, so a refusal leaves nothing running.
/// </summary>
internal static class StdioBridges
{
    public static Dictionary<string, StdioBridge> Start(GatewayOptions options)
    {
        var upstreams = new List<(string Name, string Field, StdioUpstreamOptions Stdio)>();
        if (options.Upstream.Stdio is { } own) upstreams.Add((RouteValidation.DefaultUpstreamName, "upstream.stdio", own));
        foreach ((string name, UpstreamOptions named) in options.Upstreams)
        {
            if (named.Stdio is { } stdio) upstreams.Add((name, $"upstreams.{name}.stdio", stdio));
        }
        List<GatewaySecretFile> files = GatewaySecretFiles.Of(options);
        int[] exposed = new int[upstreams.Count];
        for (int i = 0; i < upstreams.Count; i++)
        {
            (_, string field, StdioUpstreamOptions stdio) = upstreams[i];
            if (stdio.RunAs is { } runAs && runAs.Uid == CredentialSwitch.GatewayUid)
                Log.Warn($"{field}.runAs: uid {runAs.Uid} is the gateway's own: its servers can read and write whatever the gateway can (this isolates nothing)");
            exposed[i] = SecretIsolationCheck.Run(field, stdio, files);
        }
        IReadOnlyCollection<string> withheld = GatewaySecretVariables.Of(options);
        var bridges = new Dictionary<string, StdioBridge>(StringComparer.Ordinal);
        for (int i = 0; i < upstreams.Count; i++)
        {
            (string name, _, StdioUpstreamOptions stdio) = upstreams[i];
            string label = name == RouteValidation.DefaultUpstreamName ? "upstream" : $"upstreams.{name}";
            var bridge = new StdioBridge(label, stdio, withheld) { ExposedSecretFiles = exposed[i] };
            string user = stdio.RunAs is { } runAs ? $", as {runAs.Describe()}" : "";
            Log.Info($"stdio upstream {label}: {stdio.Describe()} (one process per MCP session{user}, bridged at {bridge.Url})");
            bridges.Add(name, bridge);
        }
        return bridges;
    }
}
