using System.Buffers;
using System.Text.Json;
using FastMcp.Text;

namespace FastMcp.Gateway.Cli;

/// <summary>
/// <c>fastmcp tools pin</c>: writes a pins file (toolPins.file) from the tool definitions a running gateway observed
/// (GET /tools/observed on its admin listener), so that a review is: list through the gateway in record mode, read
/// the definitions, commit the file. Exit 0 written, 1 refused by the gateway, 2 usage or connection error.
/// <c>fastmcp tools diff</c> (<see cref="ToolsDiffCommand"/>) says what changed since the pins were written.
/// </summary>
internal static class ToolsCommand
{
    public const string Usage = """
        usage: fastmcp tools pin --out FILE [--admin URL] [--token-file FILE] [--upstream NAME]... [--definitions FILE]
               fastmcp tools diff --pins FILE [--definitions FILE] [--admin URL] [--token-file FILE] [--upstream NAME]... [--format text|json]
          --admin URL         the gateway's admin listener (default $FASTMCP_ADMIN_URL or http://127.0.0.1:9090)
          --token-file FILE   an approver's or operator's bearer token (default $FASTMCP_TOKEN; never on the command line)
          --upstream NAME     only this upstream (repeatable; default every upstream whose toolPins mode is not off)
        pin writes a pins file from the definitions the gateway saw: list each upstream's tools through it (record mode) first.
          --out FILE          where to write the pins file (upstream → tool name → digest)
          --definitions FILE  also write the observed definitions the digests are over, for the review
        diff compares what the gateway saw with a pins file: tools new (seen, not pinned), gone (pinned, not seen),
        changed (another digest) and unchanged (counted).
          --pins FILE         the pins file to compare with
          --definitions FILE  the reviewed definitions (tools pin --definitions): show each changed tool's members that changed
          --format text|json  text for a reader (default), or JSON for a program
          exit: 0 no drift; 1 drift, or the gateway refused the request (the message says which); 2 usage, file or connection error
        """;

    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help" || CommandLine.WantsHelp(args))
        {
            stdout.WriteLine(Usage);
            return args.Length == 0 ? 2 : 0;
        }
        if (args[0] == "diff") return await ToolsDiffCommand.RunAsync(args[1..], stdout, stderr).ConfigureAwait(false);
        if (args[0] != "pin") throw new UsageException($"unknown tools command '{args[0]}'\n{Usage}");
        CommandLine cl = CommandLine.Parse(args.AsSpan(1), ["--admin", "--out", "--upstream", "--definitions", "--token-file"], []);
        string output = cl.Get("--out") is { Length: > 0 } o ? o : throw new UsageException("tools pin: --out FILE is required");
        string admin = ObservedToolsRequest.AdminUrl(cl);
        IReadOnlyList<string> only = cl.GetAll("--upstream");
        // GET /tools/observed needs an operator's token unless the gateway serves it open (admin.toolsObservedAccess).
        string? token = AdminToken.From(cl);

        (JsonDocument? view, int exit) = await ObservedToolsRequest.GetAsync(admin, token, stderr).ConfigureAwait(false);
        if (view is null) return exit;
        using (JsonDocument document = view)
        {
            JsonElement upstreams = document.RootElement.GetProperty("upstreams"u8);
            foreach (string name in only)
                if (!upstreams.TryGetProperty(name, out _)) throw new UsageException($"--upstream: '{name}' is not pinned by the gateway (its toolPins mode is off, or there is no such upstream)");
            var pins = new ArrayBufferWriter<byte>(4096);
            var definitions = new ArrayBufferWriter<byte>(4096);
            int toolCount = 0, upstreamCount = 0;
            using (var p = new Utf8JsonWriter(pins, new JsonWriterOptions { Indented = true }))
            using (var d = new Utf8JsonWriter(definitions, new JsonWriterOptions { Indented = true }))
            {
                p.WriteStartObject();
                d.WriteStartObject();
                foreach (JsonProperty upstream in upstreams.EnumerateObject())
                {
                    if (only.Count > 0 && !only.Contains(upstream.Name)) continue;
                    upstreamCount++;
                    p.WriteStartObject(upstream.Name);
                    d.WriteStartObject(upstream.Name);
                    int seen = 0;
                    if (upstream.Value.TryGetProperty("tools"u8, out JsonElement tools) && tools.ValueKind == JsonValueKind.Object)
                    {
                        HashSet<string> lookAlike = LookAlikeNames(upstream.Name, tools, stderr);
                        foreach (JsonProperty tool in tools.EnumerateObject())
                        {
                            if (!tool.Value.TryGetProperty("digest"u8, out JsonElement digest) || !ToolPins.ToolDefinitionDigest.IsWellFormed(digest.GetString()))
                            {
                                stderr.WriteLine(PrintableText.Escape($"fastmcp tools: upstream '{upstream.Name}' tool '{tool.Name}' has no well-formed digest"));
                                return 2;
                            }
                            if (tool.Value.TryGetProperty("definitionOmitted"u8, out JsonElement omitted) && omitted.ValueKind == JsonValueKind.True)
                            {
                                // Nobody could review what it says: left unpinned, so enforce withholds it.
                                stderr.WriteLine(PrintableText.Escape($"fastmcp tools: upstream '{upstream.Name}' tool '{tool.Name}': its definition was not kept (past the gateway's bound on kept definitions); not pinned"));
                                continue;
                            }
                            if (lookAlike.Contains(tool.Name)) continue;
                            if (ToolNameSkeleton.Flag(tool.Name) is { } flag)
                                stderr.WriteLine(PrintableText.Escape($"fastmcp tools: upstream '{upstream.Name}' tool '{tool.Name}': {flag}; pinned (check it is the tool you reviewed)"));
                            p.WriteString(tool.Name, digest.GetString());
                            if (tool.Value.TryGetProperty("definition"u8, out JsonElement definition))
                            {
                                d.WritePropertyName(tool.Name);
                                definition.WriteTo(d);
                            }
                            seen++;
                        }
                    }
                    if (upstream.Value.TryGetProperty("notKept"u8, out JsonElement notKept) && notKept.TryGetInt64(out long dropped) && dropped > 0)
                        stderr.WriteLine(PrintableText.Escape($"fastmcp tools: upstream '{upstream.Name}': {dropped} tool definition(s) seen were not kept (past the gateway's bound of {ToolPins.UpstreamToolPins.MaxObservedTools} tools or {ToolPins.UpstreamToolPins.MaxObservedBytes / (1024 * 1024)} MiB); those tools are not pinned"));
                    if (seen == 0) stderr.WriteLine(PrintableText.Escape($"fastmcp tools: upstream '{upstream.Name}': no tools observed (list its tools through the gateway first); pinned as none"));
                    toolCount += seen;
                    p.WriteEndObject();
                    d.WriteEndObject();
                }
                p.WriteEndObject();
                d.WriteEndObject();
            }
            await File.WriteAllBytesAsync(output, pins.WrittenMemory.ToArray()).ConfigureAwait(false);
            if (cl.Get("--definitions") is { Length: > 0 } definitionsFile)
                await File.WriteAllBytesAsync(definitionsFile, definitions.WrittenMemory.ToArray()).ConfigureAwait(false);
            stdout.WriteLine(PrintableText.Escape($"wrote {toolCount} tool pin(s) of {upstreamCount} upstream(s) to {output}"));
            return 0;
        }
    }

    /// <summary>
    /// The tools of one upstream whose names look alike (ToolNameSkeleton), each group said on stderr. None of them is
    /// pinned: a reviewer reading the definitions cannot tell which one they approved, so enforce withholds them all
    /// until someone who checked adds a pin by hand.
    /// </summary>
    private static HashSet<string> LookAlikeNames(string upstream, JsonElement tools, TextWriter stderr)
    {
        var names = new List<string>();
        foreach (JsonProperty tool in tools.EnumerateObject()) names.Add(tool.Name);
        var lookAlike = new HashSet<string>(StringComparer.Ordinal);
        foreach (List<string> group in ToolNameSkeleton.ConfusableGroups(names))
        {
            var said = new System.Text.StringBuilder();
            foreach (string name in group)
            {
                lookAlike.Add(name);
                said.Append(said.Length == 0 ? "'" : ", '").Append(name).Append('\'');
                if (ToolNameSkeleton.Flag(name) is { } flag) said.Append(" (").Append(flag).Append(')');
            }
            stderr.WriteLine(PrintableText.Escape($"fastmcp tools: upstream '{upstream}': tools {said} look alike; none of them pinned (enforce withholds them: pin the one you mean by hand after checking)"));
        }
        return lookAlike;
    }
}
