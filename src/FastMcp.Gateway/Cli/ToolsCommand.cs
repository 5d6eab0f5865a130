using System.Buffers;
using System.Text.Json;
using FastMcp.Text;

namespace FastMcp.Gateway.Cli;

/// <summary>
/// <c>fastmcp tools pin</c>: writes a pins file (toolPins.file) from the tool definitions a running gateway observed
/// (GET /tools/observed on its admin listener), so that a review is: list through the gateway in record mode, read
/// the definitions, commit the file. Exit 0 written, 1 refused by the gateway, 2 usage or connection error.
/// </summary>
internal static class ToolsCommand
{
    public const string Usage = """
        usage: fastmcp tools pin --out FILE [--admin URL] [--token-file FILE] [--upstream NAME]... [--definitions FILE]
          --out FILE          where to write the pins file (upstream → tool name → digest)
          --admin URL         the gateway's admin listener (default $FASTMCP_ADMIN_URL or http://127.0.0.1:9090)
          --token-file FILE   an approver's or operator's bearer token (default $FASTMCP_TOKEN; never on the command line)
          --upstream NAME     only this upstream (repeatable; default every upstream whose toolPins mode is not off)
          --definitions FILE  also write the observed definitions the digests are over, for the review
        It pins exactly the definitions the gateway saw: list each upstream's tools through it (record mode) first.
        """;

    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            stdout.WriteLine(Usage);
            return args.Length == 0 ? 2 : 0;
        }
        if (args[0] != "pin") throw new UsageException($"unknown tools command '{args[0]}'\n{Usage}");
        CommandLine cl = CommandLine.Parse(args.AsSpan(1), ["--admin", "--out", "--upstream", "--definitions", "--token-file"], []);
        string output = cl.Get("--out") is { Length: > 0 } o ? o : throw new UsageException("tools pin: --out FILE is required");
        string admin = (cl.Get("--admin") ?? Environment.GetEnvironmentVariable("FASTMCP_ADMIN_URL") ?? "http://127.0.0.1:9090").TrimEnd('/');
        if (!Uri.TryCreate(admin, UriKind.Absolute, out Uri? uri) || uri.Scheme is not ("http" or "https"))
            throw new UsageException($"--admin: '{admin}' is not an http(s) URL");
        IReadOnlyList<string> only = cl.GetAll("--upstream");
        // GET /tools/observed needs an operator's token unless the gateway serves it open (admin.toolsObservedAccess).
        string? token = AdminToken.From(cl);

        byte[] answer;
        // A redirect would carry the operator's token to wherever it points, and its answer would become the pins: none is followed.
        using (var http = new HttpClient(FastMcp.Http.RedirectRefusal.Handler()) { Timeout = TimeSpan.FromSeconds(30) })
        {
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, admin + "/tools/observed");
                if (!string.IsNullOrEmpty(token)) request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
                using HttpResponseMessage response = await http.SendAsync(request).ConfigureAwait(false);
                if (FastMcp.Http.RedirectRefusal.IsRedirect(response.StatusCode))
                {
                    stderr.WriteLine(PrintableText.Escape($"fastmcp tools: {FastMcp.Http.RedirectRefusal.Describe(admin + "/tools/observed", response.StatusCode)}"));
                    return 2;
                }
                answer = await response.Content.ReadAsByteArrayAsync().ConfigureAwait(false);
                if (!response.IsSuccessStatusCode)
                {
                    stderr.WriteLine(PrintableText.Escape($"fastmcp tools: {(int)response.StatusCode}: {System.Text.Encoding.UTF8.GetString(answer)}"));
                    return 1;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                stderr.WriteLine(PrintableText.Escape($"fastmcp tools: cannot reach {admin}: {FastMcp.Http.PlainError.Describe(e)}"));
                return 2;
            }
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(answer);
        }
        catch (JsonException)
        {
            stderr.WriteLine("fastmcp tools: the gateway answered something that is not JSON");
            return 2;
        }
        using (document)
        {
            if (!document.RootElement.TryGetProperty("upstreams"u8, out JsonElement upstreams) || upstreams.ValueKind != JsonValueKind.Object)
            {
                stderr.WriteLine("fastmcp tools: the gateway's answer has no \"upstreams\" object");
                return 2;
            }
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
